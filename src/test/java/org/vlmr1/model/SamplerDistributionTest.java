// Statistical tests of the keyed token draw itself, without the generator: the frequencies of TokenSampler's ids over
// many (sample, position) keys follow transformers' processed distribution (temperature -> top-k -> top-p,
// renormalised) for edge cases the generator-level test does not reach (ties at the top-k and top-p boundaries, exact
// top-p masses, -inf logits, one-token vocabularies, extreme temperatures); the tensor sampler picks the same id for
// every key; and the uniforms behind the draw look independent along each key coordinate.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vlmr1.kernels.TorchRuntime;

class SamplerDistributionTest {
  /** Draws per case: enough that each wrong rule listed in {@link #cases()} fails with p far below ALPHA. */
  private static final int DRAWS = 60_000;
  /** Completion positions per sample: keys are (sample = i / POSITIONS, position = i % POSITIONS). */
  private static final int POSITIONS = 12;
  /** About 40 tests per run: a false alarm about once in 25,000 runs. */
  private static final double ALPHA = 1e-6;
  private static final float NEG_INF = Float.NEGATIVE_INFINITY;
  private static final float[] EIGHT = {1.0f, 0.3f, -0.5f, 2.0f, 0.0f, 1.5f, -1.2f, 0.8f};

  @BeforeAll
  static void load() {
    TorchRuntime.load();
  }

  /**
   * name, logits, temperature, top_k, top_p. Each comment names the wrong rule the case exposes (a scratch copy of
   * the sampler with that rule failed these tests; the expected support differs, or the frequencies do by far more
   * than the chi-square's resolution at {@link #DRAWS}).
   */
  static Stream<Arguments> cases() {
    return Stream.of(
        // no filter; a temperature ignored, or multiplied instead of divided
        Arguments.of("T=0.5", EIGHT, 0.5, 0, 1.0),
        // top-p on the tempered distribution: 5 tokens at T=2, 3 if top-p ran before the temperature (on T=1),
        // 4 if the token that crosses top_p were left out
        Arguments.of("T=2 top_p=0.7", EIGHT, 2.0, 0, 0.7),
        // top-p on the renormalised top-k survivors keeps 2; top-p before top-k would keep 3
        Arguments.of("T=1 top_k=3 top_p=0.8", EIGHT, 1.0, 3, 0.8),
        Arguments.of("T=0.6 top_k=5 top_p=0.9", EIGHT, 0.6, 5, 0.9),
        // ties with the k-th value all stay (4 tokens, not 2)
        Arguments.of("top_k=2 ties at the k-th", new float[] {2f, 1f, 1f, 1f, 0f, -1f}, 1.0, 2, 1.0),
        // four exact quarters after top-k, top_p = 0.5 exactly: the two tied larger ids 2 and 3 (">=" keeps 2 tokens,
        // ">" would keep 3, smaller-id-first would keep 0 and 1)
        Arguments.of("top-p mass exactly on top_p", new float[] {2f, 2f, 2f, 2f, 1f, 0f, -1f, NEG_INF}, 1.0, 4, 0.5),
        Arguments.of("flat, top_p=0.75", new float[] {0f, 0f, 0f, 0f}, 1.0, 0, 0.75),
        // top-p crosses inside a tie (0.687, then three of 0.093): the larger tied ids 3 and 2 stay, not 1
        Arguments.of("top-p boundary inside a tie", new float[] {3f, 1f, 1f, 1f, 0f}, 1.0, 0, 0.8),
        // -inf never drawn; top_k above the finite count keeps every finite token
        Arguments.of("-inf logits", new float[] {NEG_INF, 1f, NEG_INF, 0.5f, 2f, NEG_INF}, 1.5, 0, 1.0),
        Arguments.of("-inf logits, top_k=5", new float[] {NEG_INF, 1f, NEG_INF, 0.5f, 2f, NEG_INF}, 1.5, 5, 0.95),
        Arguments.of("one-token vocabulary", new float[] {0.3f}, 0.7, 1, 0.3),
        Arguments.of("one finite token", new float[] {NEG_INF, NEG_INF, -3f, NEG_INF}, 1.0, 0, 1.0),
        // T -> 0: the tied maxima 1 and 3 split evenly, the runner-up (1000 nats below) never appears
        Arguments.of("T=1e-3 tied maxima", new float[] {1f, 3f, 2f, 3f, NEG_INF}, 1e-3, 0, 1.0),
        Arguments.of("T=1e-3 top_p=0.4", new float[] {1f, 3f, 2f, 3f, NEG_INF}, 1e-3, 0, 0.4),
        // T large: nearly flat, and top-p still ranks by the (tiny) differences
        Arguments.of("T=1e3", new float[] {5f, -5f, 0f, 2f, 40f, -40f}, 1e3, 0, 1.0),
        Arguments.of("T=50 top_p=0.5", EIGHT, 50.0, 0, 0.5),
        Arguments.of("T=50 top_k=3", EIGHT, 50.0, 3, 1.0));
  }

  /** Chi-square of TokenSampler's ids over keyed draws against the processed distribution; same ids by tensor. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void keyedDrawsFollowTheProcessedDistribution(String name, float[] logits, double t, int k, double p) {
    long seed = System.nanoTime();
    long step = Math.floorMod(seed * 31, 10_000);
    SamplingConfig cfg = new SamplingConfig(false, t, k, p, seed, POSITIONS);
    double[] want = SamplingStatisticsTest.processed(logits, t, k, p);
    System.out.println(name + ": seed " + seed + " step " + step + ", expected " + Arrays.toString(want));
    int v = logits.length;
    long[] counts = new long[v];
    int[] java = new int[DRAWS];
    double[] u = new double[DRAWS];
    for (int i = 0; i < DRAWS; i++) {
      u[i] = TokenSampler.uniform(seed, step, i / POSITIONS, i % POSITIONS);
      java[i] = TokenSampler.next(logits, cfg, step, i / POSITIONS, i % POSITIONS);
      counts[java[i]]++;
    }
    int support = (int) Arrays.stream(want).filter(x -> x > 0).count();
    if (support == 1) {
      int only = 0;
      while (want[only] == 0) {
        only++;
      }
      assertEquals(DRAWS, counts[only], name + ": a one-token support is always drawn " + Arrays.toString(counts));
    } else {
      double pv = ChiSquare.goodnessOfFit(counts, want);
      assertTrue(pv > ALPHA, name + ": frequencies " + Arrays.toString(counts) + " against " + Arrays.toString(want)
          + " (chi-square p = " + pv + ", seed " + seed + ")");
    }
    try (PointerScope s = new PointerScope()) {
      float[] flat = new float[DRAWS * v];
      for (int i = 0; i < DRAWS; i++) {
        System.arraycopy(logits, 0, flat, i * v, v);
      }
      Tensor x = torch.tensor(flat).reshape(DRAWS, v);                                       // (N, V)
      long[] tensor = new long[DRAWS];
      TensorSampler.next(x, cfg, TensorSampler.doubles(u)).to(ScalarType.Long).contiguous().data_ptr_long()
          .get(tensor);                                                                      // (N)
      for (int i = 0; i < DRAWS; i++) {
        assertEquals(java[i], tensor[i], name + ": key (sample " + i / POSITIONS + ", position " + i % POSITIONS
            + ") u = " + u[i] + ", seed " + seed);
      }
    }
  }

  /**
   * U(seed, step, sample, position) along each key coordinate, the others fixed at random values: uniform in its top
   * bits and in its lowest bits, and consecutive keys (the next position of a completion, the next sample of a group,
   * the next step, the next seed) independent by a 16 x 16 serial chi-square and a lag-1 correlation.
   */
  @Test
  void uniformsAreIndependentAlongEveryKeyCoordinate() {
    long base = System.nanoTime();
    System.out.println("uniforms: base seed " + base);
    java.util.Random rnd = new java.util.Random(base);
    int n = 1 << 16;
    String[] names = {"seed", "step", "sample", "position"};
    for (int d = 0; d < 4; d++) {
      long[] key = {rnd.nextLong(), rnd.nextInt(100_000), rnd.nextInt(1 << 20), rnd.nextInt(4096)};
      long start = d == 0 ? rnd.nextLong() : 0; // steps, samples and positions start at 0 in a run
      double[] u = new double[n];
      for (int i = 0; i < n; i++) {
        key[d] = start + i;
        u[i] = TokenSampler.uniform(key[0], key[1], key[2], key[3]);
        assertTrue(u[i] >= 0 && u[i] < 1, names[d] + ": " + u[i]);
      }
      String what = names[d] + " (base seed " + base + ")";
      long[] high = new long[64];
      long[] low = new long[64];
      long[][] pairs = new long[16][16];
      double sx = 0;
      double sxx = 0;
      double sxy = 0;
      for (int i = 0; i < n; i++) {
        high[(int) (u[i] * 64)]++;
        low[(int) ((long) (u[i] * 0x1.0p53) & 63)]++;
        sx += u[i];
        sxx += u[i] * u[i];
        if (i + 1 < n) {
          pairs[(int) (u[i] * 16)][(int) (u[i + 1] * 16)]++;
          sxy += (u[i] - 0.5) * (u[i + 1] - 0.5);
        }
      }
      double[] flat = new double[64];
      Arrays.fill(flat, 1.0 / 64);
      assertP(ChiSquare.goodnessOfFit(high, flat), what + ": top 6 bits " + Arrays.toString(high));
      assertP(ChiSquare.goodnessOfFit(low, flat), what + ": lowest 6 of the 53 bits " + Arrays.toString(low));
      assertP(ChiSquare.independence(pairs), what + ": consecutive keys " + Arrays.deepToString(pairs));
      // lag-1 correlation against its null N(0, 1/(n-1)) (variance of a uniform 1/12): z^2 ~ chi-square(1)
      double corr = sxy / (n - 1) * 12;
      assertP(ChiSquare.pValue(corr * corr * (n - 1), 1), what + ": lag-1 correlation " + corr);
      double mean = sx / n;
      double var = sxx / n - mean * mean;
      assertP(ChiSquare.pValue((mean - 0.5) * (mean - 0.5) * 12 * n, 1), what + ": mean " + mean);
      assertTrue(Math.abs(var - 1.0 / 12) < 0.01, what + ": variance " + var);
    }
  }

  /**
   * Keys that differ in two coordinates at once never share a draw: over steps 0..1, samples 0..255 and positions
   * 0..255 all 131,072 uniforms are distinct (a chance collision of 53-bit values has probability about 1e-6). A key
   * that combined its coordinates symmetrically (say sample ^ position, or sample + position) would give sample 1 at
   * position 0 the draw of sample 0 at position 1, which the one-coordinate tests above cannot see.
   */
  @Test
  void keysDifferingInSeveralCoordinatesGiveDistinctDraws() {
    long seed = System.nanoTime();
    System.out.println("distinct draws: seed " + seed);
    int n = 2 * 256 * 256;
    double[] u = new double[n];
    int i = 0;
    for (int step = 0; step < 2; step++) {
      for (int sample = 0; sample < 256; sample++) {
        for (int position = 0; position < 256; position++) {
          u[i++] = TokenSampler.uniform(seed, step, sample, position);
        }
      }
    }
    double[] sorted = u.clone();
    Arrays.sort(sorted);
    for (int j = 1; j < n; j++) {
      if (sorted[j] == sorted[j - 1]) {
        int a = -1;
        int b = -1;
        for (int m = 0; m < n; m++) {
          if (u[m] == sorted[j]) {
            if (a < 0) {
              a = m;
            } else {
              b = m;
            }
          }
        }
        throw new AssertionError("keys (step, sample, position) " + key(a) + " and " + key(b)
            + " share the draw " + sorted[j] + " (seed " + seed + ")");
      }
    }
  }

  private static String key(int flat) {
    return "(" + flat / 65536 + ", " + flat / 256 % 256 + ", " + flat % 256 + ")";
  }

  private static void assertP(double pv, String what) {
    assertTrue(pv > ALPHA, what + " (p = " + pv + ")");
  }
}
