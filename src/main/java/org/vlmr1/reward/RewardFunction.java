// A reward function: a pure, thread-safe map from a completion and its example to a score (TRL's reward callables).
package org.vlmr1.reward;

import java.util.List;

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

  /** Scores of a batch, in order. */
  default double[] score(List<RewardSample> samples) {
    double[] out = new double[samples.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = score(samples.get(i));
    }
    return out;
  }
}
