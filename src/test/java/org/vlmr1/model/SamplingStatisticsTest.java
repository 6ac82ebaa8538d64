// Statistical tests of token sampling through Generator.run with a stub decoder whose logits never change: every
// position's frequencies follow the processed distribution (temperature -> top-k -> top-p), and consecutive tokens of
// a completion are independent (one draw per token; a draw per completion would make them equal).
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vlmr1.kernels.TorchRuntime;

class SamplingStatisticsTest {
  private static final int COMPLETIONS = 20_000;
  private static final int POSITIONS = 6;
  private static final double ALPHA = 1e-5; // 22 tests per run: a false alarm about once in 4,500 runs
  private static final float[] LOGITS = {1.0f, 0.3f, -0.5f, 2.0f, 0.0f, 1.5f, -1.2f};

  @BeforeAll
  static void load() {
    TorchRuntime.load();
  }

  @Test
  void chiSquareHelperMatchesTables() {
    assertEquals(0.05, ChiSquare.pValue(3.841459, 1), 1e-6);
    assertEquals(0.05, ChiSquare.pValue(18.307038, 10), 1e-6);
    assertEquals(0.01, ChiSquare.pValue(9.210340, 2), 1e-6);
    assertEquals(0.001, ChiSquare.pValue(59.702971, 30), 1e-6);
  }

  @Test
  void temperatureOnly() {
    check(new SamplingConfig(false, 0.7, 0, 1.0, new Random().nextLong(), POSITIONS));
  }

  @Test
  void temperatureTopKTopP() {
    check(new SamplingConfig(false, 1.3, 5, 0.85, new Random().nextLong(), POSITIONS));
  }

  /** The same rows give the same tokens whether they run in one batch or two (the draw keys on the global index). */
  @Test
  void drawsDependOnTheGlobalSampleIndexNotTheBatch() {
    SamplingConfig cfg = new SamplingConfig(false, 1.0, 0, 1.0, new Random().nextLong(), POSITIONS);
    System.out.println("seed " + cfg.seed());
    long[][] whole = generate(cfg, 64, 3, 100).ids();
    long[][] first = generate(cfg, 40, 3, 100).ids();
    long[][] second = generate(cfg, 24, 3, 140).ids();
    for (int r = 0; r < 64; r++) {
      assertArrayEquals(whole[r], r < 40 ? first[r] : second[r - 40], "row " + r);
    }
  }

  /** Pinned values of U(seed, step, sample, position), computed from the documented formula in Python. */
  @Test
  void uniformIsTheDocumentedFunction() {
    assertEquals(0.1296456182997474, TokenSampler.uniform(0, 0, 0, 0));
    assertEquals(0.03774796597898078, TokenSampler.uniform(42, 3, 17, 5));
    assertEquals(0.774595694338004, TokenSampler.uniform(-1, 1, 2, 3));
    assertEquals(0.9260402812174733, TokenSampler.uniform(123456789, 100, 4095, 255));
  }

  private static void check(SamplingConfig cfg) {
    System.out.println("seed " + cfg.seed() + ", " + cfg);
    double[] p = processed(LOGITS, cfg.temperature(), cfg.topK(), cfg.topP());
    long[][] ids = generate(cfg, COMPLETIONS, 7, 0).ids();
    int v = LOGITS.length;
    for (int t = 0; t < POSITIONS; t++) {
      long[] counts = new long[v];
      for (long[] row : ids) {
        counts[(int) row[t]]++;
      }
      double pv = ChiSquare.goodnessOfFit(counts, p);
      assertTrue(pv > ALPHA, "position " + t + ": frequencies " + Arrays.toString(counts) + " against "
          + Arrays.toString(p) + " (chi-square p = " + pv + ")");
    }
    for (int t = 0; t + 1 < POSITIONS; t++) {
      long[][] table = new long[v][v];
      for (long[] row : ids) {
        table[(int) row[t]][(int) row[t + 1]]++;
      }
      double pv = ChiSquare.independence(table);
      assertTrue(pv > ALPHA, "tokens " + t + " and " + (t + 1) + " are dependent: " + Arrays.deepToString(table)
          + " (chi-square p = " + pv + ")");
    }
  }

  /** Generates with a decoder that returns {@link #LOGITS} for every row at every position. */
  private static Generator.Result generate(SamplingConfig cfg, int rows, long step, long firstSample) {
    Generator.Decoding fixed = new Generator.Decoding() {
      @Override
      public Tensor prefill(KvCache cache) {
        return logits(rows);
      }

      @Override
      public Tensor step(Tensor tokens, long[] fullMask, KvCache cache) {
        return logits(rows);
      }
    };
    long noEos = LOGITS.length + 100;
    try (KvCache cache = new KvCache(1)) {
      return Generator.run(fixed, cache, Generator.ones(rows), rows, 1, cfg, new long[] {noEos}, noEos, step,
          firstSample, false);
    }
  }

  private static Tensor logits(int rows) {
    float[] flat = new float[rows * LOGITS.length];
    for (int r = 0; r < rows; r++) {
      System.arraycopy(LOGITS, 0, flat, r * LOGITS.length, LOGITS.length);
    }
    return torch.tensor(flat).reshape(rows, LOGITS.length); // (B, V)
  }

  /**
   * The distribution transformers' warpers leave, written out independently of the sampler: scores / T; top-k keeps
   * scores >= the k-th largest; softmax; top-p sorts ascending, removes tokens whose cumulative probability is
   * <= 1 - p (always keeping the most likely), renormalises.
   */
  static double[] processed(float[] logits, double temperature, int topK, double topP) {
    int v = logits.length;
    double[] s = new double[v];
    for (int i = 0; i < v; i++) {
      s[i] = logits[i] / temperature;
    }
    if (topK > 0 && topK < v) {
      double[] sorted = s.clone();
      Arrays.sort(sorted);
      double kth = sorted[v - topK];
      for (int i = 0; i < v; i++) {
        s[i] = s[i] < kth ? Double.NEGATIVE_INFINITY : s[i];
      }
    }
    double[] p = softmax(s);
    if (topP < 1) {
      Integer[] asc = new Integer[v];
      for (int i = 0; i < v; i++) {
        asc[i] = i;
      }
      Arrays.sort(asc, (a, b) -> Double.compare(p[a], p[b]));
      double cum = 0;
      for (int r = 0; r < v - 1; r++) {
        cum += p[asc[r]];
        if (cum <= 1 - topP) {
          s[asc[r]] = Double.NEGATIVE_INFINITY;
        }
      }
      return softmax(s);
    }
    return p;
  }

  private static double[] softmax(double[] s) {
    double max = Arrays.stream(s).max().orElseThrow();
    double[] p = new double[s.length];
    double sum = 0;
    for (int i = 0; i < s.length; i++) {
      p[i] = Math.exp(s[i] - max);
      sum += p[i];
    }
    for (int i = 0; i < s.length; i++) {
      p[i] /= sum;
    }
    return p;
  }
}
