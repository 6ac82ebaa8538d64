// Picks the next token of one row from its logits: argmax, or temperature / top-k / top-p sampling with a random
// stream derived from (seed, step, global sample index), so which process or thread samples a row never matters.
package org.vlmr1.model;

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
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < v; i++) {
      max = Math.max(max, logits[i] / cfg.temperature());
    }
    // Top-k threshold by a bounded min-heap (no sort of the whole vocabulary); ties with the k-th value stay, as
    // transformers' TopKLogitsWarper keeps them.
    double threshold = Double.NEGATIVE_INFINITY;
    if (cfg.topK() > 0 && cfg.topK() < v) {
      threshold = kthLargest(logits, cfg.topK()) / cfg.temperature();
    }
    int kept = 0;
    int[] idx = new int[v];
    double[] p = new double[v];
    double sum = 0;
    for (int i = 0; i < v; i++) {
      double s = logits[i] / cfg.temperature();
      if (s >= threshold) {
        p[kept] = Math.exp(s - max);
        idx[kept++] = i;
        sum += p[kept - 1];
      }
    }
    if (cfg.topP() < 1) {
      Integer[] order = new Integer[kept];
      for (int i = 0; i < kept; i++) {
        order[i] = i;
      }
      double[] pp = p;
      java.util.Arrays.sort(order, (a, b) -> Double.compare(pp[b], pp[a]));
      double cum = 0;
      boolean[] inP = new boolean[kept];
      for (int r = 0; r < kept; r++) {
        int i = order[r];
        inP[i] = true;
        cum += p[i] / sum;
        if (cum >= cfg.topP()) {
          break;
        }
      }
      sum = 0;
      for (int i = 0; i < kept; i++) {
        p[i] = inP[i] ? p[i] : 0;
        sum += p[i];
      }
    }
    double u = new SplittableRandom(mix(cfg.seed(), step, sampleIndex)).nextDouble() * sum;
    double acc = 0;
    int last = idx[0];
    for (int i = 0; i < kept; i++) {
      if (p[i] > 0) {
        acc += p[i];
        last = idx[i];
        if (u < acc) {
          return idx[i];
        }
      }
    }
    return last;
  }

  /** The k-th largest value (k >= 1) with a min-heap of size k. */
  static float kthLargest(float[] x, int k) {
    float[] heap = new float[k];
    int n = 0;
    for (float v : x) {
      if (n < k) {
        heap[n] = v;
        int c = n++;
        while (c > 0 && heap[(c - 1) / 2] > heap[c]) {
          float t = heap[c];
          heap[c] = heap[(c - 1) / 2];
          heap[(c - 1) / 2] = t;
          c = (c - 1) / 2;
        }
      } else if (v > heap[0]) {
        heap[0] = v;
        int c = 0;
        while (true) {
          int l = 2 * c + 1;
          int r = l + 1;
          int m = c;
          if (l < k && heap[l] < heap[m]) {
            m = l;
          }
          if (r < k && heap[r] < heap[m]) {
            m = r;
          }
          if (m == c) {
            break;
          }
          float t = heap[c];
          heap[c] = heap[m];
          heap[m] = t;
          c = m;
        }
      }
    }
    return heap[0];
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
