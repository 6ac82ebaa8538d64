// How the next token is chosen during generation (VLM-R1 samples at temperature 1, top-k 50; greedy for eval).
package org.vlmr1.model;

/**
 * @param greedy plain argmax (no processor)
 * @param temperature logits are divided by it before sampling (> 0)
 * @param topK keep the k most likely tokens (0 = all)
 * @param topP keep the smallest set whose probability reaches p (1 = all)
 * @param seed with the step and the global sample index it determines every draw (CONVENTIONS.md "Randomness")
 * @param maxNewTokens completion length limit
 */
public record SamplingConfig(boolean greedy, double temperature, int topK, double topP, long seed, int maxNewTokens) {
  public SamplingConfig {
    if (!greedy && (!(temperature > 0) || Double.isInfinite(temperature))) {
      throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must be >= 0 (0 = off), got " + topK);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
    }
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("max_new_tokens must be >= 1, got " + maxNewTokens);
    }
  }

  public static SamplingConfig greedy(int maxNewTokens) {
    return new SamplingConfig(true, 1.0, 0, 1.0, 0, maxNewTokens);
  }
}
