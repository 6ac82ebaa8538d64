// The text extraction steps VLM-R1's rewards share: <answer> blocks (first or last, with or without DOTALL) and
// clean_text (VLM-R1-SPEC.md 3.3).
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import java.util.Optional;
import java.util.regex.Pattern;

/** Answer extraction and normalisation as in VLM-R1's grpo_jsonl.py. */
public final class AnswerText {
  private AnswerText() {}

  private static final Pattern NL_AFTER_SPACE = PyText.compile("(?<=\\s)\n", false);
  private static final Pattern NL_NOT_AFTER_SPACE = PyText.compile("(?<!\\s)\n", false);
  private static final Pattern CR_AFTER_SPACE = PyText.compile("(?<=\\s)\r", false);
  private static final Pattern CR_NOT_AFTER_SPACE = PyText.compile("(?<!\\s)\r", false);

  private static final String OPEN = "<answer>";
  private static final String CLOSE = "</answer>";

  /** The inner text of the first {@code <answer>...</answer>} ({@code re.search}); DOTALL lets it span lines. */
  public static Optional<String> firstAnswer(String text, boolean dotAll) {
    int[] m = next(text, 0, dotAll);
    return m == null ? Optional.empty() : Optional.of(text.substring(m[0], m[1]));
  }

  /** The inner text of the last {@code <answer>...</answer>} ({@code re.findall(...)[-1]}). */
  public static Optional<String> lastAnswer(String text, boolean dotAll) {
    String last = null;
    for (int[] m = next(text, 0, dotAll); m != null; m = next(text, m[1] + CLOSE.length(), dotAll)) {
      last = text.substring(m[0], m[1]);
    }
    return Optional.ofNullable(last);
  }

  /**
   * Where {@code <answer>} starts in the first "{@code </think>}, whitespace, {@code <answer>}" whose
   * {@code </think>} starts at or after {@code from}, or -1: what the lazy {@code .*?</think>\s*<answer>} of VLM-R1's
   * format patterns settles on, in linear time (each whitespace run is skipped once).
   */
  static int answerAfterThink(String text, int from) {
    for (int j = text.indexOf("</think>", from); j >= 0; j = text.indexOf("</think>", j + 1)) {
      int k = PyText.skipSpace(text, j + "</think>".length());
      if (text.startsWith(OPEN, k)) {
        return k;
      }
    }
    return -1;
  }

  /**
   * The next match of {@code <answer>(.*?)</answer>} at or after {@code from}, as the group's [begin, end), or null:
   * what the regex finds, in linear time. The regex engine retries every {@code <answer>} and scans to the end of the
   * text from each when no {@code </answer>} follows (or, without DOTALL, when a newline comes first), so 200,000
   * unclosed tags made one completion take minutes. Here the first closing tag and newline at or after each candidate's
   * content are found once, and only move forward.
   */
  private static int[] next(String text, int from, boolean dotAll) {
    int close = -1;
    int newline = -1;
    for (int open = text.indexOf(OPEN, from); open >= 0; open = text.indexOf(OPEN, open + 1)) {
      int content = open + OPEN.length();
      if (close < content) {
        close = text.indexOf(CLOSE, content);
        if (close < 0) {
          return null; // no later candidate has a closing tag after it either
        }
      }
      if (dotAll) {
        return new int[] {content, close};
      }
      if (newline < content && newline != Integer.MAX_VALUE) {
        newline = text.indexOf('\n', content);
        if (newline < 0) {
          newline = Integer.MAX_VALUE;
        }
      }
      if (newline >= close) {
        return new int[] {content, close}; // '.' (UNIX_LINES) stops at '\n' only, as Python's does
      }
    }
    return null;
  }

  /**
   * VLM-R1's clean_text: the last answer block if any (DOTALL), newlines and carriage returns after whitespace
   * deleted and the others turned into spaces, then strip, rstrip('.') and lower-case.
   *
   * <p>Example: {@code "<think>x</think><answer> The Cat.\n</answer>"} gives {@code "the cat"}.
   */
  public static String clean(String text) {
    String t = lastAnswer(text, true).orElse(text);
    t = NL_AFTER_SPACE.matcher(t).replaceAll("");
    t = NL_NOT_AFTER_SPACE.matcher(t).replaceAll(" ");
    t = CR_AFTER_SPACE.matcher(t).replaceAll("");
    t = CR_NOT_AFTER_SPACE.matcher(t).replaceAll(" ");
    return PyText.lower(PyText.rstrip(PyText.strip(t), "."));
  }
}
