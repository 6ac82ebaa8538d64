// Picks the next token of one row from its logits: argmax, or temperature -> top-k -> top-p (transformers' warper
// order) and one uniform draw per token that is a pure function of (seed, step, global sample index, position), so
// which process or thread samples a row never matters and every token of a completion gets its own draw.
package org.vlmr1.model;

/**
 * Next-token selection. Stateless and thread-safe.
 *
 * <p>The draw (CONVENTIONS.md "Randomness"; every sampler — Java, tensor, CUDA — reproduces it exactly):
 * <pre>
 *   splitmix64(x) = z ^ (z >>> 31) where z = x + 0x9E3779B97F4A7C15, z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9,
 *                                           z = (z ^ (z >>> 27)) * 0x94D049BB133111EB   (64-bit wrapping arithmetic)
 *   h = splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ step) ^ sample) ^ position)
 *   u = (h >>> 11) * 2^-53                                                          (the top 53 bits, in [0, 1))
 * </pre>
 * {@code step} is the optimizer step, {@code sample} the global sample index, {@code position} the completion
 * token's index (0 for the first generated token). The token is the inverse CDF of the processed distribution at
 * {@code u}, in token-id order, in double: with {@code w_i = exp(s_i - max s)} over the kept ids (zero for the
 * others) and {@code W = sum w_i}, the smallest kept id whose running sum of {@code w} exceeds {@code u * W} (the
 * largest kept id if rounding leaves none).
 *
 * <p>{@code exp} here is {@link #exp(double)}, built from IEEE-754 basic operations only (multiply, add, subtract,
 * round-half-even, a power of two from its bits), never {@code Math.exp}: a library exp may round its last bit either
 * way (libtorch's vectorised exp and HotSpot's {@code Math.exp} disagree on about 6 % of inputs; CUDA's exp is
 * another), while basic operations round the same everywhere, so the Java, tensor and CUDA samplers compute
 * bit-identical weights and pick the same id. With {@code x = s_i - max s <= 0}:
 * <pre>
 *   x < -700 (or NaN)  -> 0                                     (exp(-700) ~ 1e-304: below any running sum's ulp)
 *   k = rint(x * LOG2E), r = (x - k * LN2_HI) - k * LN2_LO      (Cody-Waite; fdlibm's ln2_hi / ln2_lo)
 *   p = ((C13 * r + C12) * r + ... + C1) * r + C0               (C_i = 1 / i!, Horner, left to right)
 *   exp(x) = p * 2^k                                            (2^k from the bits (k + 1023) << 52; exact)
 * </pre>
 * Accurate to about 2 ulps (TensorSamplerTest checks it against {@code Math.exp}).
 */
public final class TokenSampler {
  private TokenSampler() {}

  /** The chosen id for one row's logits (V floats) at completion position {@code position}. */
  public static int next(float[] logits, SamplingConfig cfg, long step, long sampleIndex, long position) {
    return next(logits, cfg, cfg.greedy() ? 0 : uniform(cfg.seed(), step, sampleIndex, position));
  }

  /** The chosen id for the uniform {@code uniform} in [0, 1) (tests drive the boundaries through it). */
  static int next(float[] logits, SamplingConfig cfg, double uniform) {
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
        p[kept] = exp(s - max);
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
      // Descending probability; among ties the larger id first, as transformers' ascending stable sort leaves them.
      java.util.Arrays.sort(order, (a, b) -> {
        int c = Double.compare(pp[b], pp[a]);
        return c != 0 ? c : Integer.compare(b, a);
      });
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
    double u = uniform * sum;
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

  /** Below this {@link #exp(double)} is 0. */
  static final double EXP_FLOOR = -700.0;
  static final double LOG2E = 1.4426950408889634;
  /** fdlibm's split of ln 2: {@code k * LN2_HI} is exact for the k that occur here. */
  static final double LN2_HI = 6.93147180369123816490e-01;
  static final double LN2_LO = 1.90821492927058770002e-10;
  /** {@code EXP_C[i] = 1 / i!}, i = 0..13; the degree-13 remainder on |r| <= ln2 / 2 is below 5e-18. */
  static final double[] EXP_C = new double[14];

  static {
    double f = 1;
    for (int i = 0; i < EXP_C.length; i++) {
      f *= Math.max(i, 1); // i! is exact in double up to 22!
      EXP_C[i] = 1.0 / f;
    }
  }

  /** exp(x) for x <= 0 from IEEE basic operations only (class comment), so every sampler rounds it identically. */
  static double exp(double x) {
    if (!(x >= EXP_FLOOR)) {
      return 0;
    }
    double k = Math.rint(x * LOG2E);
    double r = (x - k * LN2_HI) - k * LN2_LO;
    double p = EXP_C[13];
    for (int i = 12; i >= 0; i--) {
      p = p * r + EXP_C[i]; // Java never fuses this into an fma
    }
    return p * Double.longBitsToDouble(((long) k + 1023) << 52);
  }

  /** The draw {@code U(seed, step, sample, position)} in [0, 1) (class comment). */
  public static double uniform(long seed, long step, long sample, long position) {
    long h = splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ step) ^ sample) ^ position);
    return (h >>> 11) * 0x1.0p-53;
  }

  /** SplitMix64's output function of {@code x + golden gamma} (Steele, Lea, Flood 2014; java.util.SplittableRandom). */
  static long splitmix64(long x) {
    long z = x + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
