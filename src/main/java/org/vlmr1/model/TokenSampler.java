// Picks the next token of one row from its logits: argmax, or temperature / top-k / top-p sampling with a random
// stream derived from (seed, step, global sample index), so which process or thread samples a row never matters.
package org.vlmr1.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Next-token selection. Stateless and thread-safe. */
public final class TokenSampler {
  private TokenSampler() {}

  /** The chosen id for one row's logits (V floats). */
  public static int next(float[] logits, SamplingConfig cfg, long step, long sampleIndex) {
    if (cfg.greedy()) {
      int best = 0;
      for (int i = 1; i < logits.length; i++) {
        if (logits[i] > logits[best]) {
          best = i; // first maximum, as torch.argmax
        }
      }
      return best;
    }
    int v = logits.length;
    double[] scaled = new double[v];
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < v; i++) {
      scaled[i] = logits[i] / cfg.temperature();
      max = Math.max(max, scaled[i]);
    }
    Integer[] order = null;
    boolean[] keep = new boolean[v];
    Arrays.fill(keep, true);
    if (cfg.topK() > 0 && cfg.topK() < v) {
      double[] sorted = scaled.clone();
      Arrays.sort(sorted);
      double kth = sorted[v - cfg.topK()];
      for (int i = 0; i < v; i++) {
        keep[i] = scaled[i] >= kth; // ties with the k-th value stay, as transformers' TopKLogitsWarper keeps them
      }
    }
    double sum = 0;
    double[] p = new double[v];
    for (int i = 0; i < v; i++) {
      p[i] = keep[i] ? Math.exp(scaled[i] - max) : 0;
      sum += p[i];
    }
    if (cfg.topP() < 1) {
      order = new Integer[v];
      for (int i = 0; i < v; i++) {
        order[i] = i;
      }
      double[] pp = p;
      Arrays.sort(order, (a, b) -> Double.compare(pp[b], pp[a]));
      double cum = 0;
      boolean[] inP = new boolean[v];
      for (int r = 0; r < v; r++) {
        int i = order[r];
        if (p[i] == 0) {
          break;
        }
        inP[i] = true;
        cum += p[i] / sum;
        if (cum >= cfg.topP()) {
          break;
        }
      }
      sum = 0;
      for (int i = 0; i < v; i++) {
        p[i] = inP[i] ? p[i] : 0;
        sum += p[i];
      }
    }
    double u = new SplittableRandom(mix(cfg.seed(), step, sampleIndex)).nextDouble() * sum;
    double acc = 0;
    int last = 0;
    for (int i = 0; i < v; i++) {
      if (p[i] > 0) {
        acc += p[i];
        last = i;
        if (u < acc) {
          return i;
        }
      }
    }
    return last;
  }

  /** A well-mixed 64-bit seed of (seed, step, sample). */
  static long mix(long seed, long step, long sample) {
    long h = seed * 0x9E3779B97F4A7C15L;
    h ^= (step + 0x632BE59BD9B4E019L) * 0xBF58476D1CE4E5B9L;
    h ^= (sample + 0x85157AF5L) * 0x94D049BB133111EBL;
    h ^= h >>> 31;
    return h;
  }
}
