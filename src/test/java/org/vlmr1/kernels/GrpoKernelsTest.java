// Fused kernels against their libtorch composites on fresh random inputs (seed printed), plus edge cases and errors.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vlmr1.kernels.TensorAssert.assertClose;
import static org.vlmr1.kernels.TensorAssert.floats;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class GrpoKernelsTest {

  @BeforeAll
  static void load() {
    TorchRuntime.load();
    System.out.println("kernels: " + GrpoKernels.describeBackend());
  }

  static Tensor randLogits(long n, long v, String dtype, double scale) {
    return torch.randn(n, v).mul(new Scalar(scale)).to(TensorAssert.dtypeOf(dtype)).contiguous();
  }

  static Tensor randIds(long vocab, long... shape) {
    return torch.randint(vocab, shape, new TensorOptions(ScalarType.Long));
  }

  // ---------------------------------------------------------------- tokenLogProbs

  @ParameterizedTest(name = "{0} N={1} V={2} T={3}")
  @CsvSource({"f32, 7, 1003, 1.0", "f32, 33, 4096, 0.7", "bf16, 7, 1003, 1.0", "bf16, 33, 4096, 1.3",
      "f32, 5, 1, 1.0", "f32, 3, 17, 2.0"})
  void tokenLogProbsMatchesComposite(String dtype, long n, long v, double temperature) {
    TensorAssert.seed("tokenLogProbs " + dtype + " " + n + "x" + v);
    try (PointerScope s = new PointerScope()) {
      Tensor logits = randLogits(n, v, dtype, 3);
      Tensor ids = randIds(v, n);
      TokenLogProbs fused = GrpoKernels.tokenLogProbs(logits, ids, temperature, true);
      TokenLogProbs ref = CompositeKernels.tokenLogProbs(logits, ids, temperature, true);
      // Both compute in float32 on the same (possibly bf16) inputs, so f32 tolerances hold for bf16 inputs too.
      assertClose("logp", ref.logProbs(), fused.logProbs(), 1e-5, 1e-5);
      assertClose("entropy", ref.entropy(), fused.entropy(), 1e-5, 1e-5);
      assertEquals(null, GrpoKernels.tokenLogProbs(logits, ids, temperature, false).entropy());
    }
  }

  @Test
  void tokenLogProbsDocumentedExample() {
    try (PointerScope s = new PointerScope()) {
      Tensor logits = torch.tensor(new float[] {0f, (float) Math.log(3)}).reshape(1, 2);
      TokenLogProbs r = GrpoKernels.tokenLogProbs(logits, torch.tensor(new long[] {1}), 1.0, true);
      assertClose("logp", Math.log(0.75), floats(r.logProbs())[0], 0, 1e-6);
      assertClose("entropy", -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75)), floats(r.entropy())[0], 0, 1e-6);
    }
  }

  @Test
  void tokenLogProbsEdgeCases() {
    TensorAssert.seed("tokenLogProbsEdgeCases");
    try (PointerScope s = new PointerScope()) {
      long v = 2051; // not a multiple of the vector width, spans two chunks
      Tensor logits = randLogits(4, v, "f32", 1);
      // row 0: -inf logits including the target; row 1: huge logits; row 2: -inf elsewhere; row 3: a whole -inf chunk
      logits.get(0).narrow(0, 0, 100).fill_(new Scalar(Float.NEGATIVE_INFINITY));
      logits.get(1).mul_(new Scalar(1e4));
      logits.get(2).narrow(0, 7, 1000).fill_(new Scalar(Float.NEGATIVE_INFINITY));
      logits.get(3).narrow(0, 0, 2048).fill_(new Scalar(Float.NEGATIVE_INFINITY));
      Tensor ids = torch.tensor(new long[] {5, 9, 1500, 2050});
      TokenLogProbs fused = GrpoKernels.tokenLogProbs(logits, ids, 1.0, true);
      TokenLogProbs ref = CompositeKernels.tokenLogProbs(logits, ids, 1.0, true);
      float[] lp = floats(fused.logProbs());
      assertEquals(Float.NEGATIVE_INFINITY, lp[0], "a target with logit -inf has log-prob -inf");
      for (float f : floats(fused.entropy())) {
        assertTrue(Float.isFinite(f), "entropy stays finite with -inf and huge logits");
      }
      assertClose("logp", ref.logProbs(), fused.logProbs(), 1e-5, 1e-5);
      assertClose("entropy", ref.entropy(), fused.entropy(), 1e-5, 1e-5);
    }
  }

  @Test
  void tokenLogProbsRejectsBadInput() {
    try (PointerScope s = new PointerScope()) {
      Tensor logits = torch.randn(3, 5);
      Tensor ids = torch.tensor(new long[] {0, 1, 2});
      assertMessage("float32 or bfloat16, got [3, 5] Int",
          () -> GrpoKernels.tokenLogProbs(logits.to(ScalarType.Int), ids, 1, false));
      assertMessage("contiguous", () -> GrpoKernels.tokenLogProbs(torch.randn(5, 3).t(), ids, 1, false));
      assertMessage("targets must be [3] int64, got [2] Long",
          () -> GrpoKernels.tokenLogProbs(logits, torch.tensor(new long[] {0, 1}), 1, false));
      assertMessage("targets must be [3] int64, got [3] Int",
          () -> GrpoKernels.tokenLogProbs(logits, ids.to(ScalarType.Int), 1, false));
      assertMessage("out of range [0, 5)",
          () -> GrpoKernels.tokenLogProbs(logits, torch.tensor(new long[] {0, 5, 1}), 1, false));
      assertMessage("temperature", () -> GrpoKernels.tokenLogProbs(logits, ids, 0, false));
    }
  }

  static void assertMessage(String expected, Runnable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
    assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' should contain '" + expected + "'");
  }

  // ---------------------------------------------------------------- groupAdvantages

  @ParameterizedTest
  @CsvSource({"GROUP, 8, 64", "BATCH, 8, 64", "NONE, 8, 64", "GROUP, 1, 5", "GROUP, 5, 5", "BATCH, 2, 6"})
  void groupAdvantagesMatchesComposite(ScaleRewards scale, int groupSize, int n) {
    TensorAssert.seed("groupAdvantages " + scale);
    try (PointerScope s = new PointerScope()) {
      Tensor rewards = torch.rand(new long[] {n}, (org.bytedeco.pytorch.TensorOptions) null);
      Tensor fused = GrpoKernels.groupAdvantages(rewards, groupSize, scale);
      Tensor ref = CompositeKernels.groupAdvantages(rewards, groupSize, scale);
      assertClose("advantages", ref, fused, 1e-5, 1e-6);
      if (groupSize == 1) {
        for (float f : floats(fused)) {
          assertEquals(0f, f, "a group of one has advantage 0");
        }
      }
    }
  }

  @Test
  void groupAdvantagesDocumentedExampleAndErrors() {
    try (PointerScope s = new PointerScope()) {
      Tensor a = GrpoKernels.groupAdvantages(torch.tensor(new float[] {1, 0, 0, 1}), 2, ScaleRewards.GROUP);
      float[] v = floats(a);
      double expect = 0.5 / (Math.sqrt(0.5) + 1e-4);
      assertClose("A0", expect, v[0], 1e-6, 0);
      assertClose("A1", -expect, v[1], 1e-6, 0);
      assertMessage("groups of 3",
          () -> GrpoKernels.groupAdvantages(torch.tensor(new float[] {1, 0, 0, 1}), 3, ScaleRewards.GROUP));
      assertMessage("not finite", () -> GrpoKernels.groupAdvantages(
          torch.tensor(new float[] {1, Float.NaN}), 2, ScaleRewards.GROUP));
    }
  }

  /** --scale_rewards takes TRL 0.17's boolean in string_to_bool words (the old parser knew only true/false). */
  @Test
  void scaleRewardsParsesNamesAndTrlBooleans() {
    for (String w : new String[] {"true", "Yes", "y", "T", "1", "group"}) {
      assertEquals(ScaleRewards.GROUP, ScaleRewards.parse(w), w);
    }
    for (String w : new String[] {"False", "no", "N", "f", "0", "none"}) {
      assertEquals(ScaleRewards.NONE, ScaleRewards.parse(w), w);
    }
    assertEquals(ScaleRewards.BATCH, ScaleRewards.parse(" Batch "));
    assertMessage("or a boolean", () -> ScaleRewards.parse("maybe"));
  }

  /**
   * Every scaling against the formula written out in double (ANCHORS.md 1.2, VLM-R1-SPEC.md F): the group mean;
   * GROUP divides by the group's unbiased (n - 1) std + 1e-4, BATCH by the unbiased std of all rewards around their
   * global mean + 1e-4, NONE only centres. Rewards mix 0/1 groups, constant groups (advantage exactly 0) and
   * continuous ones. A biased std is off by sqrt(G / (G - 1)) (3.5 % at G = 8), far beyond float rounding.
   */
  @ParameterizedTest
  @CsvSource({"GROUP, 8", "BATCH, 8", "NONE, 8", "GROUP, 2", "BATCH, 3", "GROUP, 7", "NONE, 5"})
  void groupAdvantagesFollowTheWrittenOutFormula(ScaleRewards scale, int g) {
    long seed = TensorAssert.seed("advantage formula " + scale + " G=" + g);
    java.util.Random rnd = new java.util.Random(seed);
    int groups = 24;
    int n = groups * g;
    float[] r = new float[n];
    for (int q = 0; q < groups; q++) {
      float constant = rnd.nextInt(3);
      for (int j = 0; j < g; j++) {
        r[q * g + j] = switch (q % 3) {
          case 0 -> rnd.nextInt(2);
          case 1 -> constant;
          default -> (float) (rnd.nextGaussian() * 0.7 + 1);
        };
      }
    }
    double all = 0;
    for (float x : r) {
      all += x;
    }
    all /= n;
    double batchSs = 0;
    for (float x : r) {
      batchSs += (x - all) * (x - all);
    }
    double batchStd = Math.sqrt(batchSs / (n - 1));
    double[] want = new double[n];
    double[] slack = new double[n];
    for (int q = 0; q < groups; q++) {
      double maxAbs = 0;
      for (int j = 0; j < g; j++) {
        maxAbs = Math.max(maxAbs, Math.abs(r[q * g + j]));
      }
      double mean = 0;
      for (int j = 0; j < g; j++) {
        mean += r[q * g + j];
      }
      mean /= g;
      double ss = 0;
      for (int j = 0; j < g; j++) {
        ss += (r[q * g + j] - mean) * (r[q * g + j] - mean);
      }
      double std = Math.sqrt(ss / (g - 1));
      for (int j = 0; j < g; j++) {
        double c = r[q * g + j] - mean;
        want[q * g + j] = switch (scale) {
          case GROUP -> c / (std + 1e-4);
          case BATCH -> c / (batchStd + 1e-4);
          case NONE -> c;
        };
        // The composite works in float32, as TRL's torch code does: its group mean may be off by a few ulps of the
        // group's largest reward, which shifts every c by that much, and the division carries it (1 + |A| times)
        // over std + 1e-4. A G = 2 group with nearly equal rewards divides by a tiny std: before this term 0.26 % of
        // such groups failed (measured over 100,000), eight per run, so about 1 run in 50. A biased std or a missing
        // epsilon is off by far more.
        double denominator = switch (scale) {
          case GROUP -> std + 1e-4;
          case BATCH -> batchStd + 1e-4;
          case NONE -> 1;
        };
        slack[q * g + j] = g * Math.ulp((float) maxAbs) * (1 + Math.abs(want[q * g + j])) / denominator;
      }
    }
    try (PointerScope s = new PointerScope()) {
      Tensor rewards = torch.tensor(r);
      for (boolean composite : new boolean[] {false, true}) {
        float[] got = floats(composite ? CompositeKernels.groupAdvantages(rewards, g, scale)
            : GrpoKernels.groupAdvantages(rewards, g, scale));
        String who = (composite ? "composite " : "GrpoKernels ") + scale + " G=" + g;
        for (int i = 0; i < n; i++) {
          assertClose(who + " row " + i + " (reward " + r[i] + ")", want[i], got[i], 1e-5, 1e-6 + slack[i]);
          if ((i / g) % 3 == 1) {
            assertEquals(0f, got[i], who + ": a constant group has advantage 0");
          }
        }
      }
    }
  }

  /**
   * The k3 KL metric is an unbiased estimate of KL(pi || ref) when the tokens are drawn from the policy pi (as the
   * rollout draws them): E_pi[exp(ref - logp) - (ref - logp) - 1] = sum_v pi_v log(pi_v / ref_v). Tokens are drawn by
   * TokenSampler (T = 1, no filter) from random policy rows; the reference is the policy's logits perturbed. The
   * reversed estimator exp(logp - ref) - (logp - ref) - 1 (whose mean is chi^2(pi || ref) - KL(pi || ref)) or a
   * flipped linear term (mean -KL) miss the exact value by many standard errors, which the z-test below sees; then
   * the metric must equal the token mean of k3 over the kernel's own log-probs.
   */
  @Test
  void k3KlIsAnUnbiasedEstimateOfKlPolicyToReference() {
    long seed = TensorAssert.seed("k3 KL");
    java.util.Random rnd = new java.util.Random(seed);
    int b = 64;
    int t = 64;
    int v = 12;
    int n = b * t;
    float[] policy = new float[n * v];
    double[] exactKl = new double[n];
    double[] refLogp = new double[n];
    long[] ids = new long[n];
    org.vlmr1.model.SamplingConfig sampling = new org.vlmr1.model.SamplingConfig(false, 1.0, 0, 1.0, seed, t);
    for (int i = 0; i < n; i++) {
      float[] row = new float[v];
      double[] ref = new double[v];
      for (int j = 0; j < v; j++) {
        row[j] = (float) (rnd.nextGaussian() * 1.5);
        ref[j] = row[j] + rnd.nextGaussian() * 0.8;
      }
      System.arraycopy(row, 0, policy, i * v, v);
      double[] lp = logSoftmax(row);
      double[] lr = logSoftmax(ref);
      for (int j = 0; j < v; j++) {
        exactKl[i] += Math.exp(lp[j]) * (lp[j] - lr[j]);
      }
      ids[i] = org.vlmr1.model.TokenSampler.next(row, sampling, 0, i / t, i % t);
      refLogp[i] = lr[(int) ids[i]];
    }
    float[] refF = new float[n];
    for (int i = 0; i < n; i++) {
      refF[i] = (float) refLogp[i];
    }
    GrpoLossConfig cfg = GrpoLossConfig.builder().beta(0.04).build();
    try (PointerScope s = new PointerScope()) {
      Tensor logits = torch.tensor(policy).reshape(b, t, v).contiguous();                  // (B, T, V)
      Tensor idT = torch.tensor(ids).reshape(b, t);                                         // (B, T)
      Tensor mask = torch.ones(b, t);                                                       // (B, T)
      Tensor adv = torch.zeros(b);                                                          // (B)
      Tensor ref = torch.tensor(refF).reshape(b, t);                                        // (B, T)
      Tensor eye = torch.eye(v).contiguous();                                               // (V, V) identity head
      GrpoLossResult fused = GrpoKernels.grpoLoss(logits, idT, mask, adv, null, ref, cfg);
      GrpoLossResult composite = CompositeKernels.grpoLoss(logits, idT, mask, adv, null, ref, cfg, null);
      GrpoHiddenLossResult hidden = GrpoKernels.grpoLossFromHidden(logits, eye, idT, mask, adv, null, ref, cfg, 512);
      String[] who = {"grpoLoss", "composite grpoLoss", "grpoLossFromHidden"};
      double[] metric = {fused.metrics().kl(), composite.metrics().kl(), hidden.metrics().kl()};
      Tensor[] logps = {fused.perTokenLogps(), composite.perTokenLogps(), hidden.perTokenLogps()};
      double kl = 0;
      for (double x : exactKl) {
        kl += x;
      }
      kl /= n;
      for (int w = 0; w < who.length; w++) {
        float[] lp = floats(logps[w]);
        double k3 = 0;
        double dev = 0;
        for (int i = 0; i < n; i++) {
          double d = refF[i] - (double) lp[i];
          double ki = Math.exp(d) - d - 1;
          k3 += ki;
          dev += (ki - exactKl[i]) * (ki - exactKl[i]);
        }
        k3 /= n;
        double se = Math.sqrt(dev) / n;
        double z = (metric[w] - kl) / se;
        System.out.printf("%s: k3 metric %.5f, exact KL(pi||ref) %.5f, standard error %.5f, z %.2f%n", who[w],
            metric[w], kl, se, z);
        assertTrue(Math.abs(z) < 5, who[w] + ": the k3 metric " + metric[w] + " is not an unbiased estimate of "
            + "KL(pi || ref) = " + kl + " (z = " + z + ", seed " + seed + ")");
        assertClose(who[w] + ": metric = token mean of exp(ref - logp) - (ref - logp) - 1", k3, metric[w], 1e-5, 1e-7);
      }
    }
  }

  private static double[] logSoftmax(float[] x) {
    double[] d = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      d[i] = x[i];
    }
    return logSoftmax(d);
  }

  private static double[] logSoftmax(double[] x) {
    double max = java.util.Arrays.stream(x).max().orElseThrow();
    double sum = 0;
    for (double e : x) {
      sum += Math.exp(e - max);
    }
    double lse = max + Math.log(sum);
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i] - lse;
    }
    return out;
  }

  // ---------------------------------------------------------------- grpoLoss

  /** A random GRPO micro-batch: ragged masks (one row fully masked), old/ref log-probs near the policy's. */
  record Batch(Tensor logits, Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref) {
    static Batch random(long b, long t, long v, String dtype, double temperature) {
      Tensor logits = randLogits(b * t, v, dtype, 2).reshape(b, t, v);
      Tensor ids = randIds(v, b, t);
      Tensor mask = torch.zeros(b, t);
      for (long i = 0; i < b - 1; i++) {
        long len = 1 + torch.randint(t, new long[] {1}, new TensorOptions(ScalarType.Long)).item_long();
        mask.get(i).narrow(0, 0, len).fill_(new Scalar(1));
      } // the last row stays fully masked: no NaN allowed
      Tensor adv = torch.randn(b);
      Tensor lp = CompositeKernels.tokenLogProbs(logits.reshape(b * t, v), ids.reshape(b * t), temperature, false)
          .logProbs().reshape(b, t);
      // Perturbations of +-0.5 put ratios on both sides of the clip range; the first token of rows 0 and 1 is
      // clipped for sure (ratio e and 1/e, advantages of matching sign). No log-ratio lies within 1e-3 of a clip
      // bound (log 0.8, log 1.28): the fused kernel and the composite round the log-prob differently in its last
      // bit (a multiplication by 1/T against a division), which there could clip a token on one side only.
      Tensor logRatio = torch.rand(b, t).sub(new Scalar(0.5)).neg();                        // (B, T) lp - old
      for (double bound : new double[] {Math.log(0.8), Math.log(1.28)}) {
        Tensor near = logRatio.sub(new Scalar(bound)).abs().lt(new Scalar(1e-3));
        logRatio = logRatio.add(near.to(ScalarType.Float).mul(new Scalar(2e-3)));
      }
      Tensor old = lp.sub(logRatio);
      adv.get(0).fill_(new Scalar(1.5));
      adv.get(1).fill_(new Scalar(-0.7));
      old.get(0).get(0).fill_(lp.get(0).get(0).sub(new Scalar(1)));
      old.get(1).get(0).fill_(lp.get(1).get(0).add(new Scalar(1)));
      Tensor ref = lp.add(torch.randn(b, t).mul(new Scalar(0.3)));
      return new Batch(logits, ids, mask, adv, old, ref);
    }
  }

  static Stream<Arguments> lossCases() {
    List<Arguments> cases = new ArrayList<>();
    for (String dtype : new String[] {"f32", "bf16"}) {
      for (LossType lt : LossType.values()) {
        for (boolean withOld : new boolean[] {false, true}) {
          for (double beta : new double[] {0, 0.04}) {
            double temperature = withOld ? 0.7 : 1.0;
            cases.add(Arguments.of(dtype, lt, withOld, beta, temperature));
          }
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1} old={2} beta={3} T={4}")
  @MethodSource("lossCases")
  void grpoLossMatchesComposite(String dtype, LossType lossType, boolean withOld, double beta, double temperature) {
    TensorAssert.seed("grpoLoss " + dtype + " " + lossType);
    try (PointerScope s = new PointerScope()) {
      Batch x = Batch.random(5, 7, 389, dtype, temperature);
      GrpoLossConfig cfg = GrpoLossConfig.builder().epsilonLow(0.2).epsilonHigh(0.28).beta(beta)
          .temperature(temperature).lossType(lossType).maxCompletionLength(9).dapoTokenCount(lossType == LossType.DAPO
              ? 13.5 : 0).lossScale(0.5).build();
      Tensor old = withOld ? x.old : null;
      Tensor ref = beta > 0 ? x.ref : null;
      GrpoLossResult fused = GrpoKernels.grpoLoss(x.logits, x.ids, x.mask, x.adv, old, ref, cfg);
      GrpoLossResult comp = CompositeKernels.grpoLoss(x.logits, x.ids, x.mask, x.adv, old, ref, cfg, null);
      double rtol = TensorAssert.rtol(dtype);
      assertTrue(Double.isFinite(fused.loss()), "finite loss");
      assertClose("loss", comp.loss(), fused.loss(), 1e-5, 1e-7);
      assertClose("gradLogits", comp.gradLogits(), fused.gradLogits(), rtol, 0);
      assertEquals(TensorAssert.dtypeOf(dtype), TensorChecks.dtype(fused.gradLogits()));
      assertClose("perTokenLogps", comp.perTokenLogps(), fused.perTokenLogps(), 1e-5, 1e-5);
      assertClose("kl", comp.metrics().kl(), fused.metrics().kl(), 1e-5, 1e-6);
      assertClose("entropy", comp.metrics().entropy(), fused.metrics().entropy(), 1e-5, 1e-6);
      assertClose("clipLow", comp.metrics().clipRatioLow(), fused.metrics().clipRatioLow(), 0, 1e-6);
      assertClose("clipHigh", comp.metrics().clipRatioHigh(), fused.metrics().clipRatioHigh(), 0, 1e-6);
      assertClose("clipRegion", comp.metrics().clipRatioRegion(), fused.metrics().clipRatioRegion(), 0, 1e-6);
      if (withOld) {
        assertTrue(fused.metrics().clipRatioLow() > 0 && fused.metrics().clipRatioHigh() > 0,
            "the test batch exercises both clips");
      }
    }
  }

  @Test
  void gradientIntoTheLogitsOwnBuffer() {
    TensorAssert.seed("gradientIntoTheLogitsOwnBuffer");
    try (PointerScope s = new PointerScope()) {
      Batch x = Batch.random(3, 4, 1000, "f32", 1);
      GrpoLossConfig cfg = GrpoLossConfig.builder().build();
      GrpoLossResult separate = GrpoKernels.grpoLoss(x.logits, x.ids, x.mask, x.adv, x.old, x.ref, cfg);
      Tensor buffer = x.logits.clone();
      GrpoLossResult inPlace = GrpoKernels.grpoLoss(buffer, x.ids, x.mask, x.adv, x.old, x.ref, cfg, buffer);
      assertTrue(torch.equal(separate.gradLogits(), inPlace.gradLogits()), "same gradient, bit for bit");
      assertTrue(torch.equal(buffer, inPlace.gradLogits()), "written into the logits' buffer");
      assertEquals(separate.loss(), inPlace.loss());
    }
  }

  @Test
  void bitReproducible() {
    TensorAssert.seed("bitReproducible");
    try (PointerScope s = new PointerScope()) {
      Batch x = Batch.random(4, 9, 3000, "f32", 1);
      GrpoLossConfig cfg = GrpoLossConfig.builder().build();
      GrpoLossResult a = GrpoKernels.grpoLoss(x.logits, x.ids, x.mask, x.adv, x.old, x.ref, cfg);
      GrpoLossResult b = GrpoKernels.grpoLoss(x.logits, x.ids, x.mask, x.adv, x.old, x.ref, cfg);
      assertEquals(a.loss(), b.loss());
      assertTrue(torch.equal(a.gradLogits(), b.gradLogits()));
      assertEquals(a.metrics(), b.metrics());
    }
  }

  @Test
  void lossEdgeCasesAndErrors() {
    TensorAssert.seed("lossEdgeCasesAndErrors");
    try (PointerScope s = new PointerScope()) {
      Batch x = Batch.random(2, 3, 50, "f32", 1);
      GrpoLossConfig cfg = GrpoLossConfig.builder().build();
      assertMessage("needs refLogps", () -> GrpoKernels.grpoLoss(x.logits, x.ids, x.mask, x.adv, null, null, cfg));
      GrpoLossConfig noKl = cfg.toBuilder().beta(0).build();
      GrpoKernels.grpoLoss(x.logits, x.ids, x.mask, x.adv, null, null, noKl); // beta = 0 needs no reference

      // Every token masked: loss 0, no NaN anywhere.
      Tensor none = torch.zeros(2, 3);
      GrpoLossResult r = GrpoKernels.grpoLoss(x.logits, x.ids, none, x.adv, null, x.ref, cfg);
      assertEquals(0.0, r.loss());
      for (float f : floats(r.gradLogits())) {
        assertEquals(0f, f);
      }
      assertEquals(new GrpoLossMetrics(0, 0, 0, 0, 0), r.metrics());

      // A -inf logit at a masked target is fine; at an unmasked one it is an error.
      Tensor logits = x.logits.clone();
      Tensor mask = torch.ones(2, 3);
      mask.get(1).get(2).fill_(new Scalar(0));
      logits.get(1).get(2).get(x.ids.get(1).get(2).item_long()).fill_(new Scalar(Float.NEGATIVE_INFINITY));
      GrpoLossResult masked = GrpoKernels.grpoLoss(logits, x.ids, mask, x.adv, null, x.ref, cfg);
      assertTrue(Double.isFinite(masked.loss()));
      GrpoLossResult compMasked = CompositeKernels.grpoLoss(logits, x.ids, mask, x.adv, null, x.ref, cfg, null);
      assertClose("masked -inf loss", compMasked.loss(), masked.loss(), 1e-5, 1e-7);
      assertClose("masked -inf grad", compMasked.gradLogits(), masked.gradLogits(), 1e-5, 0);
      assertMessage("non-finite", () -> GrpoKernels.grpoLoss(logits, x.ids, torch.ones(2, 3), x.adv, null, x.ref,
          cfg));

      assertMessage("completionIds must be [2, 3] int64",
          () -> GrpoKernels.grpoLoss(x.logits, x.ids.narrow(1, 0, 2), x.mask, x.adv, null, x.ref, cfg));
      assertMessage("advantages must be [2]",
          () -> GrpoKernels.grpoLoss(x.logits, x.ids, x.mask, torch.randn(3), null, x.ref, cfg));
      assertMessage("out of range [0, 50)",
          () -> GrpoKernels.grpoLoss(x.logits, x.ids.add(new Scalar(50)), x.mask, x.adv, null, x.ref, cfg));
      assertMessage("gradOut must be shaped and typed like logits", () -> GrpoKernels.grpoLoss(x.logits, x.ids,
          x.mask, x.adv, null, x.ref, cfg, torch.zeros(2, 3, 49)));
      assertMessage("(B, T, V) float32 or bfloat16",
          () -> GrpoKernels.grpoLoss(x.logits.reshape(6, 50), x.ids, x.mask, x.adv, null, x.ref, cfg));
      assertThrows(IllegalArgumentException.class, () -> GrpoLossConfig.builder().epsilonLow(1.5).build());
      assertThrows(IllegalArgumentException.class, () -> GrpoLossConfig.builder().beta(-1).build());
    }
  }

  // ---------------------------------------------------------------- grpoLossFromHidden

  @ParameterizedTest(name = "{0} {1} chunk={2}")
  @CsvSource({"f32, GRPO, 4", "f32, DAPO, 64", "f32, DR_GRPO, 1", "bf16, BNPO, 4", "bf16, GRPO, 7"})
  void fromHiddenMatchesLossOnMaterialisedLogits(String dtype, LossType lossType, int chunkRows) {
    TensorAssert.seed("grpoLossFromHidden " + dtype);
    try (PointerScope s = new PointerScope()) {
      long b = 3, t = 5, h = 16, v = 300;
      ScalarType st = TensorAssert.dtypeOf(dtype);
      Tensor hidden = torch.randn(b, t, h).to(st).contiguous();
      Tensor w = torch.randn(v, h).mul(new Scalar(0.3)).to(st).contiguous();
      Tensor ids = randIds(v, b, t);
      Tensor mask = torch.ones(b, t);
      mask.get(0).narrow(0, 3, 2).fill_(new Scalar(0));
      Tensor adv = torch.randn(b);
      Tensor ref = torch.randn(b, t).sub(new Scalar(6));
      GrpoLossConfig cfg = GrpoLossConfig.builder().lossType(lossType).temperature(0.9).build();

      GrpoHiddenLossResult fused = GrpoKernels.grpoLossFromHidden(hidden, w, ids, mask, adv, null, ref, cfg, chunkRows);
      // Oracle: the same loss on the materialised float32 logits, gradients through the matmuls by hand.
      Tensor h32 = hidden.to(ScalarType.Float).reshape(b * t, h);
      Tensor w32 = w.to(ScalarType.Float);
      Tensor logits = h32.mm(w32.t()).reshape(b, t, v).to(st).contiguous();
      GrpoLossResult onLogits = CompositeKernels.grpoLoss(logits, ids, mask, adv, null, ref, cfg, null);
      Tensor g = onLogits.gradLogits().to(ScalarType.Float).reshape(b * t, v);
      double rtol = dtype.equals("bf16") ? 2e-2 : 1e-4; // bf16 matmuls round the logits and products
      assertClose("loss", onLogits.loss(), fused.loss(), rtol, 1e-6);
      assertClose("gradHidden", g.mm(w32).reshape(b, t, h), fused.gradHidden(), rtol, 0);
      assertClose("gradWeight", g.t().mm(h32), fused.gradWeight(), rtol, 0);
      assertEquals(st, TensorChecks.dtype(fused.gradWeight()));
      assertClose("perTokenLogps", onLogits.perTokenLogps(), fused.perTokenLogps(), rtol, 1e-4);
    }
  }

  @Test
  void chunkRowsMakeTheFewestEqualPassesTheBudgetAllows() {
    long qwen = 151_936;
    assertEquals(512, GrpoKernels.chunkRows(16 * 32, qwen, 4, GrpoKernels.LOGITS_BUDGET_BYTES)); // one pass
    assertEquals(512, GrpoKernels.chunkRows(2048, qwen, 4, GrpoKernels.LOGITS_BUDGET_BYTES));    // 4 of 512, not 662
    assertEquals(50, GrpoKernels.chunkRows(100, 10, 4, 40 * 60)); // 60 rows fit: 2 passes of 50, not 60 + 40
    assertEquals(6, GrpoKernels.chunkRows(100, 10, 4, 40 * 6));   // 6 rows fit: 17 passes
    assertEquals(1, GrpoKernels.chunkRows(3, 1000, 4, 1));        // not even one row fits: one row at a time
    assertEquals(1, GrpoKernels.chunkRows(0, 1000, 4, 1 << 20));
    assertThrows(IllegalArgumentException.class, () -> GrpoKernels.chunkRows(8, 0, 4, 1 << 20));
  }

  /**
   * The native fused-linear loss keeps its logits buffer between calls: a later call (larger, other dtype, other
   * chunking) must not change an earlier call's results, and a repeated call must give the same bits.
   */
  @Test
  void fromHiddenResultsOutliveTheReusedLogitsBuffer() {
    TensorAssert.seed("fromHiddenBufferReuse");
    try (PointerScope s = new PointerScope()) {
      long b = 3, t = 5, h = 16, v = 300;
      Tensor hidden = torch.randn(b, t, h).contiguous();
      Tensor w = torch.randn(v, h).mul(new Scalar(0.3)).contiguous();
      Tensor ids = randIds(v, b, t);
      Tensor mask = torch.ones(b, t);
      Tensor adv = torch.randn(b);
      GrpoLossConfig cfg = GrpoLossConfig.builder().beta(0).build();
      GrpoHiddenLossResult first = GrpoKernels.grpoLossFromHidden(hidden, w, ids, mask, adv, null, null, cfg, 4);
      Tensor[] copies = {first.gradHidden().clone(), first.gradWeight().clone(), first.perTokenLogps().clone()};
      GrpoKernels.grpoLossFromHidden(torch.randn(4, 8, h).contiguous(), torch.randn(2 * v, h).contiguous(),
          randIds(2 * v, 4, 8), torch.ones(4, 8), torch.randn(4), null, null, cfg, 32);
      GrpoKernels.grpoLossFromHidden(hidden.to(ScalarType.BFloat16).contiguous(),
          w.to(ScalarType.BFloat16).contiguous(), ids, mask, adv, null, null, cfg, 15);
      GrpoHiddenLossResult again = GrpoKernels.grpoLossFromHidden(hidden, w, ids, mask, adv, null, null, cfg, 4);
      Tensor[] kept = {first.gradHidden(), first.gradWeight(), first.perTokenLogps()};
      Tensor[] redone = {again.gradHidden(), again.gradWeight(), again.perTokenLogps()};
      for (int i = 0; i < kept.length; i++) {
        assertTrue(torch.equal(copies[i], kept[i]), "result " + i + " changed by later calls");
        assertTrue(torch.equal(copies[i], redone[i]), "result " + i + " differs on a repeated call");
      }
      assertEquals(first.loss(), again.loss());
    }
  }

  @Test
  void tiedEmbeddingGradientReachesTheEmbedding() {
    TensorAssert.seed("tiedEmbedding");
    long b = 2, t = 4, h = 8, v = 40;
    try (PointerScope s = new PointerScope()) {
      Tensor embed = torch.randn(v, h).mul(new Scalar(0.5)).set_requires_grad(true);
      Tensor mix = torch.randn(h, h).mul(new Scalar(0.3)).set_requires_grad(true);
      Tensor inputs = randIds(v, b * t);
      Tensor ids = randIds(v, b, t);
      Tensor mask = torch.ones(b, t);
      Tensor adv = torch.randn(b);
      Tensor ref = torch.randn(b, t).sub(new Scalar(4));
      GrpoLossConfig cfg = GrpoLossConfig.builder().build();

      // Reference: a tiny tied LM through autograd; logits = tanh(E[x] M) E^T.
      Tensor hidden = torch.tanh(torch.embedding(embed, inputs).mm(mix));
      Tensor logits = hidden.mm(embed.t()).reshape(b, t, v);
      GrpoLossResult ref0 = CompositeKernels.grpoLoss(logits, ids, mask, adv, null, ref, cfg, null);
      logits.backward(ref0.gradLogits(), new org.bytedeco.pytorch.BoolOptional(), false, null);
      Tensor embedGradRef = embed.grad().clone();
      Tensor mixGradRef = mix.grad().clone();
      embed.grad().zero_();
      mix.grad().zero_();

      // Fused: the head's weight gradient is added to the embedding's by the caller.
      Tensor hidden2 = torch.tanh(torch.embedding(embed, inputs).mm(mix));
      GrpoHiddenLossResult fused = GrpoKernels.grpoLossFromHidden(hidden2.detach().reshape(b, t, h).contiguous(),
          embed.detach(), ids, mask, adv, null, ref, cfg, 3);
      hidden2.backward(fused.gradHidden().reshape(b * t, h), new org.bytedeco.pytorch.BoolOptional(), false, null);
      embed.grad().add_(fused.gradWeight());
      assertClose("loss", ref0.loss(), fused.loss(), 1e-5, 1e-7);
      assertClose("embedding grad (input and head)", embedGradRef, embed.grad(), 1e-4, 0);
      assertClose("decoder grad", mixGradRef, mix.grad(), 1e-4, 0);
    }
  }
}
