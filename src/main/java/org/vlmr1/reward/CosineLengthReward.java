// --reward_funcs length: VLM-R1's cosine_rewards (grpo_jsonl.py, VLM-R1-SPEC.md 3.6) with its two bugs fixed.
package org.vlmr1.reward;

import java.math.BigDecimal;
import java.math.MathContext;

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
  /** Python's {@code math.cos(L * math.pi / 1024)} for L = 0..1024, bit for bit (see {@link #pythonCos}). */
  private static final double[] COS = new double[MAX_LEN + 1];

  static {
    for (int l = 0; l <= MAX_LEN; l++) {
      COS[l] = pythonCos(l);
    }
  }
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
    return max - (max - min) * (1 - COS[l]) / 2;
  }

  /**
   * {@code math.cos(l * math.pi / 1024)} as CPython on glibc (>= 2.28) returns it. Java's Math.cos is off by one ulp
   * at l = 349 (and StrictMath at 20 other lengths), which moved the reward's last bit. glibc's cos is correctly
   * rounded at every one of these 1025 arguments but l = 459, where it returns the double just below; so: the
   * correctly rounded cosine (Taylor series in 60-digit decimals, then the nearest of Math.cos and its neighbours),
   * and that one glibc value.
   */
  static double pythonCos(int l) {
    double x = l * Math.PI / MAX_LEN;
    MathContext mc = new MathContext(60);
    BigDecimal x2 = new BigDecimal(x).multiply(new BigDecimal(x), mc);
    BigDecimal term = BigDecimal.ONE;
    BigDecimal sum = BigDecimal.ONE;
    BigDecimal eps = BigDecimal.ONE.movePointLeft(58);
    for (int k = 2; term.abs().compareTo(eps) > 0; k += 2) {
      term = term.negate().multiply(x2, mc).divide(BigDecimal.valueOf((long) k * (k - 1)), mc);
      sum = sum.add(term, mc);
    }
    double guess = Math.cos(x);
    double best = guess;
    for (double c : new double[] {Math.nextDown(guess), Math.nextUp(guess)}) {
      if (new BigDecimal(c).subtract(sum).abs().compareTo(new BigDecimal(best).subtract(sum).abs()) < 0) {
        best = c;
      }
    }
    return l == 459 ? Math.nextDown(best) : best; // glibc: 0.16188639378011188, correctly rounded ...0119
  }
}
