// The REC format reward of the VLM modules: VLM-R1's format_reward_rec (re.search, DOTALL), VLM-R1-SPEC.md 1.2/1.3.
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import java.util.regex.Pattern;

/**
 * 1.0 when the completion contains {@code <think>...</think>}, whitespace, then an {@code <answer>} holding a box of
 * four non-negative integers ({@code re.search}, so text around it is allowed), else 0.0. Qwen's variant requires the
 * box inside braces (a JSON object); InternVL's does not.
 *
 * <p>Example: {@code "<think>t</think><answer>{\"bbox_2d\": [1, 2, 3, 4]}</answer>"} scores 1.0 for both;
 * {@code "<think>t</think><answer>[1,2,3,4]</answer>"} scores 1.0 for InternVL and 0.0 for Qwen.
 */
public final class RecFormatReward implements RewardFunction {
  // VLM-R1's patterns (re.search, DOTALL), which search() decides in linear time:
  //   Qwen:    <think>.*?</think>\s*<answer>.*?\{.*\[\d+,\s*\d+,\s*\d+,\s*\d+\].*\}.*?</answer>
  //   InternVL <think>.*?</think>\s*<answer>.*?\[\d+,\s*\d+,\s*\d+,\s*\d+\].*?</answer>
  // The regex engine retried every '{' and scanned to the end from each: 30,000 "{[1,2,3,4]" pieces hung a score.
  private static final Pattern BOX = PyText.compile("\\[\\d+,\\s*\\d+,\\s*\\d+,\\s*\\d+\\]", true);
  private final boolean braces;

  private RecFormatReward(boolean braces) {
    this.braces = braces;
  }

  public static RecFormatReward qwen() {
    return new RecFormatReward(true);
  }

  public static RecFormatReward internVl() {
    return new RecFormatReward(false);
  }

  @Override
  public String name() {
    return "format";
  }

  @Override
  public double score(RewardSample sample) {
    return search(sample.completion(), braces) ? 1.0 : 0.0;
  }

  /**
   * Whether the pattern occurs in {@code text}. Every part after {@code <answer>} only needs to come after the one
   * before it, so the earliest {@code <answer>} that follows {@code <think>...</think>} and whitespace leaves the most
   * room; then the box must lie after the first '{' and end by the last '}' (Qwen) and the last {@code </answer>}.
   */
  static boolean search(String text, boolean braces) {
    int think = text.indexOf("<think>");
    if (think < 0) {
      return false;
    }
    int answer = AnswerText.answerAfterThink(text, think + "<think>".length());
    if (answer < 0) {
      return false;
    }
    int from = answer + "<answer>".length();
    int end = text.lastIndexOf("</answer>");
    if (end < from) {
      return false;
    }
    if (braces) {
      int open = text.indexOf('{', from);
      int close = text.lastIndexOf('}', end - 1);
      if (open < 0 || close <= open) {
        return false;
      }
      from = open + 1;
      end = close;
    }
    return BOX.matcher(text).region(from, end).find();
  }
}
