// VLM-R1's extract_choice: the multiple-choice letter of a free-text answer (grpo_jsonl.py, VLM-R1-SPEC.md 3.3).
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Finds the chosen option letter in a text, with VLM-R1's heuristics. */
public final class ChoiceExtraction {
  private static final Pattern SPACES = PyText.compile("\\s+", false);
  private static final Pattern CHOICE = PyText.compile("(?<![A-Z])([A-Z])(?=[\\.\\,\\?\\!\\:\\;]|$)", false);
  private static final String[] KEYWORDS = {"答案", "选择", "正确", "是", "对", "answer", "correct", "choose",
      "select", "right", "认为", "应该", "觉得", "think", "believe", "should"};

  private ChoiceExtraction() {}

  /**
   * Upper-cases the text and collapses whitespace, then takes the capitals not preceded by a capital and followed by
   * {@code .,?!:;} or the end. With several, each scores +1 per keyword within 20 characters of the letter's first
   * occurrence in the text, +2 when that occurrence is in the last 30%, +1 when it is followed by {@code 。.!！,，};
   * the first letter with the best score wins.
   *
   * <p>Example: {@code "I think the answer is B."} gives B; {@code "no letter here"} gives empty.
   */
  public static Optional<String> extract(String text) {
    String t = SPACES.matcher(text.toUpperCase(Locale.ROOT)).replaceAll(" ");
    List<String> choices = new ArrayList<>();
    Matcher m = CHOICE.matcher(t);
    while (m.find()) {
      choices.add(m.group(1));
    }
    if (choices.isEmpty()) {
      return Optional.empty();
    }
    if (choices.size() == 1) {
      return Optional.of(choices.get(0));
    }
    int[] cps = t.codePoints().toArray();
    Map<String, Integer> scores = new LinkedHashMap<>();
    for (String c : choices) {
      scores.put(c, 0);
    }
    for (String c : choices) {
      // Python: pos = text.find(choice), the letter's first occurrence anywhere, in code points.
      int pos = indexOfCodePoint(cps, c.codePointAt(0));
      String context = new String(cps, Math.max(0, pos - 20), Math.min(cps.length, pos + 20) - Math.max(0, pos - 20));
      int score = scores.get(c);
      for (String k : KEYWORDS) {
        if (context.contains(k.toUpperCase(Locale.ROOT))) {
          score++;
        }
      }
      if (pos > cps.length * 0.7) {
        score += 2;
      }
      if (pos < cps.length - 1 && "。.!！,，".indexOf(cps[pos + 1]) >= 0) {
        score++;
      }
      scores.put(c, score);
    }
    String best = null;
    int bestScore = Integer.MIN_VALUE;
    for (Map.Entry<String, Integer> e : scores.entrySet()) {
      if (e.getValue() > bestScore) {
        best = e.getKey();
        bestScore = e.getValue();
      }
    }
    return Optional.of(best);
  }

  private static int indexOfCodePoint(int[] cps, int cp) {
    for (int i = 0; i < cps.length; i++) {
      if (cps[i] == cp) {
        return i;
      }
    }
    return -1;
  }
}
