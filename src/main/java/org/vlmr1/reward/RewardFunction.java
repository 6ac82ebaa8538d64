// A reward function: a pure, thread-safe map from a completion and its example to a score (TRL's reward callables).
package org.vlmr1.reward;

import java.util.List;
import java.util.Map;

/**
 * Scores completions. Implementations are pure and thread-safe: the trainer runs them on a pool
 * ({@link RewardScorer}). A malformed completion gets the function's documented score, never an exception; a
 * malformed solution is a data error ({@link RewardDataException}) that names the example.
 */
public interface RewardFunction {
  /** The name used on the command line ({@code --reward_funcs}) and in metrics ({@code rewards/<name>}). */
  String name();

  /** The score of one completion. */
  double score(RewardSample sample);

  /** Scores of a batch, in order (then {@link #scored}). */
  default double[] score(List<RewardSample> samples) {
    double[] out = new double[samples.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = score(samples.get(i));
    }
    scored(samples, out);
    return out;
  }

  /**
   * Called once per scored batch, after every sample has its score, with the scores in sample order (by
   * {@link RewardScorer} and {@link #score(List)}). VLM-R1's reward functions see a whole batch per call, and their
   * DEBUG_MODE trace is written per call ({@link RewardDebugLog}); this is where ours is. Does nothing by default.
   */
  default void scored(List<RewardSample> samples, double[] scores) {}

  /**
   * Counts this function kept since the last call, returned and reset (e.g. {@code llm_judge_fallbacks}): the trainer
   * reads them after scoring a step and logs them as {@code rewards/<key>}. The keys are fixed for the function's
   * life, since data-parallel ranks sum the values key by key. Empty by default.
   */
  default Map<String, Long> drainCounters() {
    return Map.of();
  }
}
