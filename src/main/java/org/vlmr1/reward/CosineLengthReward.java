// --reward_funcs length: VLM-R1's cosine_rewards (grpo_jsonl.py, VLM-R1-SPEC.md 3.6) with its two bugs fixed.
package org.vlmr1.reward;

/**
 * Cosine length shaping (Yeo et al., arXiv 2502.03373): {@code r = max - (max - min) * (1 - cos(pi * L / 1024)) / 2}
 * with L the completion's token count clamped to 1024. A correct answer (its {@code weighted_sum} accuracy
 * {@link DetectionRewards#weightedSum} is at least 0.7, the maintainers' stated threshold) goes from 1.0 at L = 0 to
 * 0.5 at L = 1024; a wrong one follows VLM-R1's wrong-answer branch, from -0.5 at L = 0 to 0.0 at L = 1024.
 *
 * <p>Fixed VLM-R1 bugs: it overwrites the accuracy with 1.0 (always the "correct" branch) and does not clamp L, so
 * its reward is periodic (back to 1.0 at L = 2048).
 *
 * <p>Example: a correct answer of 512 tokens scores 0.75; a wrong one of 512 tokens scores -0.25.
 */
public final class CosineLengthReward implements RewardFunction {
  static final int MAX_LEN = 1024;
  private final TokenCounter tokens;

  public CosineLengthReward(TokenCounter tokens) {
    if (tokens == null) {
      throw new IllegalArgumentException("the length reward counts tokens: give it a tokenizer (--tokenizer)");
    }
    this.tokens = tokens;
  }

  @Override
  public String name() {
    return "length";
  }

  @Override
  public double score(RewardSample s) {
    boolean correct = DetectionRewards.weightedSum(s) >= 0.7;
    return shaped(tokens.count(s.completion()), correct);
  }

  /** The cosine-shaped reward of a length (clamped to 1024) for a correct or wrong answer. */
  static double shaped(int length, boolean correct) {
    double min = correct ? 0.5 : 0.0;
    double max = correct ? 1.0 : -0.5;
    int l = Math.min(Math.max(length, 0), MAX_LEN);
    return max - (max - min) * (1 - Math.cos(l * Math.PI / MAX_LEN)) / 2;
  }
}
