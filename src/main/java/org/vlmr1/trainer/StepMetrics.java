// What one optimizer step logs (TRL's metric names).
package org.vlmr1.trainer;

import java.util.Map;

/**
 * @param step optimizer step (1-based after it ran)
 * @param loss the summed micro-batch losses (the objective of the step)
 * @param reward mean total reward; rewardStd the mean of the group standard deviations
 * @param rewards mean of each reward function ({@code rewards/<name>}), and the rewards' counters over the step's
 *     completions ({@code rewards/llm_judge_fallbacks})
 * @param kl, entropy, clipRatio masked token means over the step
 * @param completionLength mean completion length in tokens
 * @param gradNorm the norm before clipping; learningRate the rate the step used
 * @param skipped the step was skipped (non-finite rewards, loss or gradients)
 * @param seconds wall time per stage: generate, score, loss (forward, reference, fused loss, backward), optimizer;
 *     reference is the part of loss spent on the reference log-probs (0 when beta = 0)
 * @param completionTokens tokens generated in the step (for tokens/s)
 * @param skippedPrompts prompts of the step's generation round skipped because an image failed to decode
 *     (--on_bad_sample skip; counted on the step that generated the round); they are left out of reward,
 *     completion length and token counts
 */
public record StepMetrics(int step, double loss, double reward, double rewardStd, Map<String, Double> rewards,
    double kl, double entropy, double clipRatio, double completionLength, double gradNorm, double learningRate,
    boolean skipped, Map<String, Double> seconds, long completionTokens, int skippedPrompts) {

  /** A step that skipped no prompt. */
  public StepMetrics(int step, double loss, double reward, double rewardStd, Map<String, Double> rewards, double kl,
      double entropy, double clipRatio, double completionLength, double gradNorm, double learningRate,
      boolean skipped, Map<String, Double> seconds, long completionTokens) {
    this(step, loss, reward, rewardStd, rewards, kl, entropy, clipRatio, completionLength, gradNorm, learningRate,
        skipped, seconds, completionTokens, 0);
  }
}
