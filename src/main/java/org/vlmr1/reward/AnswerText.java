// The text extraction steps VLM-R1's rewards share: <answer> blocks (first or last, with or without DOTALL) and
// clean_text (VLM-R1-SPEC.md 3.3).
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Answer extraction and normalisation as in VLM-R1's grpo_jsonl.py. */
public final class AnswerText {
  private AnswerText() {}

  private static final Pattern ANSWER_DOTALL = PyText.compile("<answer>(.*?)</answer>", true);
  private static final Pattern ANSWER_LINE = PyText.compile("<answer>(.*?)</answer>", false);
  private static final Pattern NL_AFTER_SPACE = PyText.compile("(?<=\\s)\n", false);
  private static final Pattern NL_NOT_AFTER_SPACE = PyText.compile("(?<!\\s)\n", false);
  private static final Pattern CR_AFTER_SPACE = PyText.compile("(?<=\\s)\r", false);
  private static final Pattern CR_NOT_AFTER_SPACE = PyText.compile("(?<!\\s)\r", false);

  /** The inner text of the first {@code <answer>...</answer>} ({@code re.search}); DOTALL lets it span lines. */
  public static Optional<String> firstAnswer(String text, boolean dotAll) {
    Matcher m = (dotAll ? ANSWER_DOTALL : ANSWER_LINE).matcher(text);
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  /** The inner text of the last {@code <answer>...</answer>} ({@code re.findall(...)[-1]}). */
  public static Optional<String> lastAnswer(String text, boolean dotAll) {
    Matcher m = (dotAll ? ANSWER_DOTALL : ANSWER_LINE).matcher(text);
    String last = null;
    while (m.find()) {
      last = m.group(1);
    }
    return Optional.ofNullable(last);
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
