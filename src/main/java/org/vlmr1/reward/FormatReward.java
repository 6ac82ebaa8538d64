// --reward_funcs format: VLM-R1's format_reward (grpo_jsonl.py), VLM-R1-SPEC.md 3.2.
package org.vlmr1.reward;

import java.util.List;

/**
 * 1.0 when the whole completion is {@code <think>...</think>}, optional whitespace, {@code <answer>...</answer>}
 * ({@code re.fullmatch}, DOTALL), else 0.0. Text before {@code <think>} or after {@code </answer>}, even a newline,
 * scores 0.
 *
 * <p>Example: {@code "<think>a box</think> <answer>[1,2,3,4]</answer>"} scores 1.0;
 * {@code "<think>a</think><answer>b</answer>\n"} scores 0.0.
 */
public final class FormatReward implements RewardFunction {
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
    return fullMatch(sample.completion()) ? 1.0 : 0.0;
  }

  /**
   * Whether {@code <think>.*?</think>\\s*<answer>.*?</answer>} (DOTALL) matches all of {@code text}, in linear time:
   * the text opens with {@code <think>}, ends with {@code </answer>}, and some {@code </think>} after the opening tag
   * is followed by whitespace and an {@code <answer>} that ends before the closing tag. The regex engine tries every
   * {@code </think>} and scans to the end from each, so 100,000 {@code </think><answer>} pieces without a closing tag
   * made one completion take minutes.
   */
  static boolean fullMatch(String text) {
    String think = "<think>";
    String answer = "<answer>";
    String endAnswer = "</answer>";
    if (!text.startsWith(think) || !text.endsWith(endAnswer)) {
      return false;
    }
    // the earliest "</think>, whitespace, <answer>" leaves the most room before the closing tag
    int k = AnswerText.answerAfterThink(text, think.length());
    return k >= 0 && k + answer.length() <= text.length() - endAnswer.length();
  }

  @Override
  public void scored(List<RewardSample> samples, double[] scores) {
    log.format(samples, scores);
  }
}
