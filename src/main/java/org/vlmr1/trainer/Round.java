// What one generation round yields and the optimizer steps of the round reuse (TRL's buffered inputs).
package org.vlmr1.trainer;

import java.util.List;
import java.util.Map;
import org.vlmr1.reward.RewardScorer;

/**
 * @param rollouts this rank's micro-batches of the round (steps_per_generation of them), in order
 * @param scores the round's rewards over all ranks, in the round's global order
 * @param adv this rank's advantages, one per completion of {@code rollouts}
 * @param rewardStd mean of the groups' reward standard deviations
 * @param finite whether every reward is finite
 * @param stepTokens unmasked completion tokens of each optimizer step of the round over all ranks (DAPO's normaliser)
 * @param oldLogps the rollout-time log-probs per micro-batch (numIterations > 1), else null
 * @param counters the reward functions' counts over all ranks (llm_judge_fallbacks)
 * @param skipped per completion in the round's global order: its prompt was skipped (--on_bad_sample skip), so its
 *     completion mask and advantage are 0 and the reward means leave it out
 * @param skippedPrompts the prompts skipped in this round
 */
record Round(List<Rollout> rollouts, RewardScorer.Scores scores, float[] adv, double rewardStd, boolean finite,
    long[] stepTokens, float[][] oldLogps, Map<String, Double> counters, boolean[] skipped, int skippedPrompts)
    implements AutoCloseable {

  /** Frees the rollouts' device tensors; the trainer calls it once, when the round is replaced or dropped. */
  @Override
  public void close() {
    rollouts.forEach(Rollout::close);
  }

  /** The mean of one value per completion of the round, over the completions not skipped. */
  double mean(double[] perCompletion) {
    return SkippedGroups.mean(perCompletion, skipped);
  }

  /** Completions not skipped in the round's {@code slice}-th optimizer step of {@code globalBatch} completions. */
  int keptRows(int slice, int globalBatch) {
    return SkippedGroups.keptRows(skipped, slice * globalBatch, (slice + 1) * globalBatch);
  }
}
