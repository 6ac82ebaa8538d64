// Statistical tests of token sampling through Generator.run with a stub decoder whose logits never change: every
// position's frequencies follow the processed distribution (temperature -> top-k -> top-p), and consecutive tokens of
// a completion are independent (one draw per token; a draw per completion would make them equal); with EOS ids
// among the tokens, completion lengths are truncated-geometric and everything after the first EOS is masked padding.
// Every draw is also checked against the reference TokenSampler, so a failed frequency test is about the keyed uniforms
// and the distribution, not a misdrawn row; every message carries the config and its seed, to rerun the case.
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
  private static final double ALPHA = 1e-5; // 26 tests per run: a false alarm about once in 3,800 runs
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

  /**
   * With two EOS ids among the sampled tokens (Qwen stops on <|im_end|> and <|endoftext|>), a completion ends at the
   * first of either: its length (the mask sum, EOS included) is truncated-geometric, P(L = l) = (1 - q)^(l - 1) q
   * below max_new_tokens and (1 - q)^(N - 1) at N, where q is the two ids' processed probability; the mask is 1
   * through the EOS and 0 after, every id after it is the pad id, and the tokens before it follow the processed
   * distribution given "not an EOS". For both samplers, with finished rows leaving the batch or staying in it.
   */
  @Test
  void completionLengthsAreTruncatedGeometricOverEveryEosId() {
    int n = 12;
    int rows = 20_000;
    long[] eos = {2, 6};
    long pad = LOGITS.length + 100;
    int v = LOGITS.length;
    for (GenerationOptions opts : new GenerationOptions[] {GenerationOptions.DEFAULT, GenerationOptions.OLD_PATH}) {
      SamplingConfig cfg = new SamplingConfig(false, 1.3, 0, 1.0, new Random().nextLong(), n);
      String what = cfg + " " + opts;
      System.out.println("lengths: " + what);
      double[] p = processed(LOGITS, cfg.temperature(), cfg.topK(), cfg.topP());
      double q = p[(int) eos[0]] + p[(int) eos[1]];
      assertTrue(q > 0.05 && q < 0.3, "the EOS ids keep a moderate probability under this config: " + q);
      Generator.Result res = generate(cfg, rows, 5, 0, eos, pad, opts);
      assertDrawsAreTheReference(res.ids(), res.mask(), cfg, 5, 0);
      long[] lengths = new long[n + 1];
      long[] before = new long[v];
      for (int r = 0; r < rows; r++) {
        long[] ids = res.ids()[r];
        long[] mask = res.mask()[r];
        int len = 0;
        while (len < n && mask[len] == 1) {
          len++;
        }
        int first = -1;
        for (int t = 0; t < n && first < 0; t++) {
          first = ids[t] == eos[0] || ids[t] == eos[1] ? t : -1;
        }
        assertEquals(first >= 0 ? first + 1 : n, len, "row " + r + ": the mask runs through the first EOS: "
            + Arrays.toString(ids) + " " + Arrays.toString(mask) + " " + what);
        for (int t = len; t < n; t++) {
          assertEquals(0, mask[t], "row " + r + " mask after its EOS " + what);
          assertEquals(pad, ids[t], "row " + r + " id after its EOS " + what);
        }
        for (int t = 0; t < (first >= 0 ? first : n); t++) {
          before[(int) ids[t]]++;
        }
        lengths[len]++;
      }
      double[] want = new double[n + 1];
      for (int l = 1; l <= n; l++) {
        want[l] = Math.pow(1 - q, l - 1) * (l < n ? q : 1);
      }
      double pv = ChiSquare.goodnessOfFit(lengths, want);
      assertTrue(pv > ALPHA, "lengths " + Arrays.toString(lengths) + " against " + Arrays.toString(want)
          + " (chi-square p = " + pv + ") " + what);
      double[] notEos = p.clone();
      for (long e : eos) {
        notEos[(int) e] = 0;
      }
      for (int i = 0; i < v; i++) {
        notEos[i] /= 1 - q;
      }
      pv = ChiSquare.goodnessOfFit(before, notEos);
      assertTrue(pv > ALPHA, "tokens before the EOS " + Arrays.toString(before) + " against "
          + Arrays.toString(notEos) + " (chi-square p = " + pv + ") " + what);
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
    long step = 7;
    long[][] ids = generate(cfg, COMPLETIONS, step, 0).ids();
    // Every draw is first the reference's (TokenSampler on the same logits with the same keyed uniform), so a
    // frequency test that fails below measures the keyed uniforms and the inverse CDF, never a misdrawn row.
    assertDrawsAreTheReference(ids, null, cfg, step, 0);
    int v = LOGITS.length;
    for (int t = 0; t < POSITIONS; t++) {
      long[] counts = new long[v];
      for (long[] row : ids) {
        counts[(int) row[t]]++;
      }
      double pv = ChiSquare.goodnessOfFit(counts, p);
      assertTrue(pv > ALPHA, "position " + t + ": frequencies " + Arrays.toString(counts) + " against "
          + Arrays.toString(p) + " (chi-square p = " + pv + ") " + cfg);
    }
    // The independence table pools the ids below 2 % into one category: at T = 0.7 the rarest id has p = 0.0054,
    // so its cell with itself expects 0.6 draws, where the chi-square approximation is too optimistic in the tail
    // (a simulated false-alarm rate of 6.75e-5 per table at ALPHA 1e-5). Pooled, every cell expects 8 or more.
    int[] category = new int[v];
    int categories = 0;
    int pooled = -1;
    for (int i = 0; i < v; i++) {
      if (p[i] < 0.02) {
        pooled = pooled < 0 ? categories++ : pooled;
        category[i] = pooled;
      } else {
        category[i] = categories++;
      }
    }
    for (int t = 0; t + 1 < POSITIONS; t++) {
      long[][] table = new long[categories][categories];
      for (long[] row : ids) {
        table[category[(int) row[t]]][category[(int) row[t + 1]]]++;
      }
      double pv = ChiSquare.independence(table);
      assertTrue(pv > ALPHA, "tokens " + t + " and " + (t + 1) + " are dependent: " + Arrays.deepToString(table)
          + " (chi-square p = " + pv + ") " + cfg);
    }
  }

  /**
   * Each row's tokens through its mask (all of them when mask is null) are TokenSampler's draws from {@link #LOGITS}
   * with the keyed uniform of (seed, step, firstSample + row, position): the tensor sampler is bit-exact with it.
   */
  private static void assertDrawsAreTheReference(long[][] ids, long[][] mask, SamplingConfig cfg, long step,
      long firstSample) {
    for (int r = 0; r < ids.length; r++) {
      for (int t = 0; t < ids[r].length && (mask == null || mask[r][t] == 1); t++) {
        int want = TokenSampler.next(LOGITS, cfg, step, firstSample + r, t);
        if (ids[r][t] != want) {
          assertEquals(want, ids[r][t], "row " + r + " position " + t + ": the reference draws " + want + " (u = "
              + TokenSampler.uniform(cfg.seed(), step, firstSample + r, t) + ") " + cfg);
        }
      }
    }
  }

  /** Generates with a decoder that returns {@link #LOGITS} for every row at every position. */
  private static Generator.Result generate(SamplingConfig cfg, int rows, long step, long firstSample) {
    long noEos = LOGITS.length + 100;
    return generate(cfg, rows, step, firstSample, new long[] {noEos}, noEos, GenerationOptions.DEFAULT);
  }

  /** {@link #generate(SamplingConfig, int, long, long)} with EOS ids, pad id and engine options. */
  private static Generator.Result generate(SamplingConfig cfg, int rows, long step, long firstSample, long[] eos,
      long pad, GenerationOptions opts) {
    Generator.Decoding fixed = new Generator.Decoding() {
      @Override
      public Tensor prefill(KvCache cache) {
        return logits(rows);
      }

      @Override
      public Tensor step(Tensor tokens, long[] fullMask, KvCache cache) {
        return logits((int) tokens.size(0)); // finished rows may have left the batch
      }
    };
    try (KvCache cache = new KvCache(1)) {
      return Generator.run(fixed, cache, Generator.ones(rows), 1, Generator.identity(rows), cfg, eos, pad, step,
          firstSample, false, opts);
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
