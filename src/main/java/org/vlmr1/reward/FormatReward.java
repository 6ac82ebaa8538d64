// --reward_funcs format: VLM-R1's format_reward (grpo_jsonl.py), VLM-R1-SPEC.md 3.2.
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import java.util.List;
import java.util.regex.Pattern;

/**
 * 1.0 when the whole completion is {@code <think>...</think>}, optional whitespace, {@code <answer>...</answer>}
 * ({@code re.fullmatch}, DOTALL), else 0.0. Text before {@code <think>} or after {@code </answer>}, even a newline,
 * scores 0.
 *
 * <p>Example: {@code "<think>a box</think> <answer>[1,2,3,4]</answer>"} scores 1.0;
 * {@code "<think>a</think><answer>b</answer>\n"} scores 0.0.
 */
public final class FormatReward implements RewardFunction {
  private static final Pattern FORMAT = PyText.compile("<think>.*?</think>\\s*<answer>.*?</answer>", true);
  private final RewardDebugLog log;

  public FormatReward() {
    this(RewardDebugLog.OFF);
  }

  /** @param log VLM-R1's DEBUG_MODE trace (the "_format.txt" file), or {@link RewardDebugLog#OFF} */
  public FormatReward(RewardDebugLog log) {
    this.log = log;
  }

  @Override
  public String name() {
    return "format";
  }

  @Override
  public double score(RewardSample sample) {
    return FORMAT.matcher(sample.completion()).matches() ? 1.0 : 0.0;
  }

  @Override
  public void scored(List<RewardSample> samples, double[] scores) {
    log.format(samples, scores);
  }
}
