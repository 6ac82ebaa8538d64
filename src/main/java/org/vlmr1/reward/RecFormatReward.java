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
  private static final Pattern QWEN = PyText.compile(
      "<think>.*?</think>\\s*<answer>.*?\\{.*\\[\\d+,\\s*\\d+,\\s*\\d+,\\s*\\d+\\].*\\}.*?</answer>", true);
  private static final Pattern INTERNVL = PyText.compile(
      "<think>.*?</think>\\s*<answer>.*?\\[\\d+,\\s*\\d+,\\s*\\d+,\\s*\\d+\\].*?</answer>", true);
  private final Pattern pattern;

  private RecFormatReward(Pattern pattern) {
    this.pattern = pattern;
  }

  public static RecFormatReward qwen() {
    return new RecFormatReward(QWEN);
  }

  public static RecFormatReward internVl() {
    return new RecFormatReward(INTERNVL);
  }

  @Override
  public String name() {
    return "format";
  }

  @Override
  public double score(RewardSample sample) {
    return pattern.matcher(sample.completion()).find() ? 1.0 : 0.0;
  }
}
