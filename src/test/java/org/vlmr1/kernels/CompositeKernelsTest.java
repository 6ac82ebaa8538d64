// The chunked composites (issue 18) against the full-logits formulation they replaced, kept here as the oracle:
// token log-probs against a float64 log_softmax + gather, the loss against one autograd graph over all the logits.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vlmr1.kernels.TensorAssert.assertClose;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CompositeKernelsTest {
  static final long QWEN_VOCAB = 151_936;

  @BeforeAll
  static void load() {
    TorchRuntime.load();
  }

  /** Logits with -inf entries: a whole row but one entry, scattered ones, and the target of row 1. */
  static Tensor logitsWithInf(long n, long v, String dtype, Tensor ids) {
    Tensor x = torch.randn(n, v).mul(new Scalar(3));                           // (N, V)
    Scalar inf = new Scalar(Double.NEGATIVE_INFINITY);
    x.get(0).fill_(inf);
    x.get(0).get(ids.get(0).item_long()).fill_(new Scalar(1)); // row 0: one finite logit, its target's
    x.get(1).get(ids.get(1).item_long()).fill_(inf);           // row 1: the target itself is -inf
    x.masked_fill_(torch.rand(n, v).lt(new Scalar(0.01)), inf);
    x.get(0).get(ids.get(0).item_long()).fill_(new Scalar(1));
    return x.to(TensorAssert.dtypeOf(dtype)).contiguous();
  }

  @ParameterizedTest(name = "{0} N={1} V={2} T={3}")
  @CsvSource({"f32, 20, 151936, 1.0", "f32, 13, 151936, 0.7", "bf16, 20, 151936, 1.3", "f32, 300, 4096, 1.0",
      "bf16, 257, 4096, 0.7", "f32, 3, 1, 1.0", "f32, 0, 17, 1.0"})
  void tokenLogProbsEqualsFloat64LogSoftmax(String dtype, long n, long v, double temperature) {
    TensorAssert.seed("composite tokenLogProbs " + dtype + " " + n + "x" + v + " T=" + temperature);
    try (PointerScope s = new PointerScope()) {
      Tensor ids = GrpoKernelsTest.randIds(v, n);
      Tensor logits = n >= 2 && v > 1 ? logitsWithInf(n, v, dtype, ids) : GrpoKernelsTest.randLogits(n, v, dtype, 3);
      // The oracle: the whole (N, V) log-softmax in float64 of the float32 logits divided in float32, as before.
      Tensor z = logits.to(ScalarType.Float).div(new Scalar(temperature)).to(ScalarType.Double);
      Tensor lsm = torch.log_softmax(z, 1);                                    // (N, V) float64
      Tensor lp = lsm.gather(1, ids.unsqueeze(1)).squeeze(1);
      Tensor p = lsm.exp();
      Tensor ent = torch.special_xlogy(p, p).sum(1).neg();
      for (boolean withEntropy : new boolean[] {false, true}) {
        TokenLogProbs r = CompositeKernels.tokenLogProbs(logits, ids, temperature, withEntropy);
        assertEquals(ScalarType.Float, TensorChecks.dtype(r.logProbs()));
        assertEquals(n, r.logProbs().numel());
        if (n == 0) {
          continue; // nothing to compare (and no data pointer to read)
        }
        assertClose("logp (entropy " + withEntropy + ")", lp, r.logProbs(), 1e-6, 1e-5);
        if (withEntropy) {
          // float32 sums over V terms (as before issue 18): their rounding grows like sqrt(V) ulps, about 2e-5
          // relative at V = 151,936 (a seed measured 1.2e-5), so 5e-5 relative rather than the house 1e-5.
          assertClose("entropy", ent, r.entropy(), 1e-5, 5e-5);
        } else {
          assertEquals(null, r.entropy());
        }
      }
      if (n >= 2 && v > 1) {
        float[] got = TensorAssert.floats(CompositeKernels.tokenLogProbs(logits, ids, temperature, true).logProbs());
        assertEquals(0f, got[0], "the only finite logit has probability 1");
        assertEquals(Float.NEGATIVE_INFINITY, got[1], "a -inf target has log-prob -inf");
      }
    }
  }

  /** The composites run on any libtorch device: on "meta" every result must come back on it, shaped right. */
  @Test
  void tokenLogProbsStaysOnTheInputsDevice() {
    try (PointerScope s = new PointerScope()) {
      Device meta = new Device("meta");
      Tensor logits = torch.randn(9, 50).to(meta, ScalarType.Float);
      Tensor ids = torch.zeros(new long[] {9}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Long)).to(meta,
          ScalarType.Long);
      TokenLogProbs r = CompositeKernels.tokenLogProbs(logits, ids, 0.5, true);
      for (Tensor t : new Tensor[] {r.logProbs(), r.entropy()}) {
        assertEquals("meta", KernelProviders.deviceType(t));
        assertEquals(9, t.numel());
      }
    }
  }

  /**
   * The row scratch is kept between calls (per thread, regrown for a new dtype or device): a result must not be a
   * view of it, and a call after one on another device must still be right.
   */
  @Test
  void tokenLogProbsResultsOutliveTheKeptScratch() {
    TensorAssert.seed("composite tokenLogProbs kept scratch");
    try (PointerScope s = new PointerScope()) {
      long n = 7;
      long v = 3000;
      Tensor ids = GrpoKernelsTest.randIds(v, n);
      Tensor first = GrpoKernelsTest.randLogits(n, v, "bf16", 3);
      TokenLogProbs a = CompositeKernels.tokenLogProbs(first, ids, 0.7, true);
      Tensor lp = a.logProbs().clone();
      Tensor ent = a.entropy().clone();
      Device meta = new Device("meta");
      CompositeKernels.tokenLogProbs(torch.randn(n, 2 * v).to(meta, ScalarType.Float), ids.to(meta, ScalarType.Long),
          1.0, true);
      TokenLogProbs b = CompositeKernels.tokenLogProbs(GrpoKernelsTest.randLogits(n, 2 * v, "f32", 3), ids, 1.0, true);
      assertTrue(torch.equal(lp, a.logProbs()) && torch.equal(ent, a.entropy()), "first results unchanged");
      TokenLogProbs again = CompositeKernels.tokenLogProbs(first, ids, 0.7, true);
      assertClose("same logits again", lp, again.logProbs(), 0, 0);
      assertClose("same entropy again", ent, again.entropy(), 0, 0);
      assertEquals(n, b.logProbs().numel());
    }
  }

  @ParameterizedTest(name = "{0} {1} B={2} T={3} V={4} temp={5} old={6} gradOut={7}")
  @CsvSource({"f32, GRPO, 3, 5, 151936, 1.0, false, none", "f32, DAPO, 3, 5, 151936, 0.7, true, logits",
      "bf16, BNPO, 3, 5, 151936, 1.0, true, none", "bf16, DR_GRPO, 4, 9, 4096, 0.7, true, logits",
      "f32, GRPO, 5, 70, 4096, 0.9, true, buffer", "f32, BNPO, 2, 3, 17, 1.0, false, none"})
  void grpoLossEqualsOneGraphOverAllLogits(String dtype, LossType lossType, long b, long t, long v,
      double temperature, boolean withOld, String gradOut) {
    TensorAssert.seed("composite grpoLoss " + dtype + " " + lossType + " " + b + "x" + t + "x" + v);
    try (PointerScope s = new PointerScope()) {
      GrpoKernelsTest.Batch x = GrpoKernelsTest.Batch.random(b, t, v, dtype, temperature);
      // Unmasked -inf logits, a masked -inf target (a pad id): neither may turn into NaN.
      Tensor flat = x.logits().view(b * t, v);
      flat.get(0).get((x.ids().get(0).get(0).item_long() + 1) % v).fill_(new Scalar(Double.NEGATIVE_INFINITY));
      x.mask().get(b - 1).get(t - 1).fill_(new Scalar(0));
      flat.get(b * t - 1).get(x.ids().get(b - 1).get(t - 1).item_long())
          .fill_(new Scalar(Double.NEGATIVE_INFINITY));
      GrpoLossConfig cfg = GrpoLossConfig.builder().epsilonLow(0.2).epsilonHigh(0.28).beta(0.04)
          .temperature(temperature).lossType(lossType).maxCompletionLength((int) t + 2).lossScale(0.5).build();
      Tensor old = withOld ? x.old() : null;
      GrpoLossResult want = oneGraphLoss(x.logits(), x.ids(), x.mask(), x.adv(), old, x.ref(), cfg);
      Tensor logits = x.logits().clone();
      Tensor buffer = switch (gradOut) {
        case "logits" -> logits;
        case "buffer" -> torch.full(new long[] {b, t, v}, new Scalar(7)).to(TensorAssert.dtypeOf(dtype));
        default -> null;
      };
      GrpoLossResult got = CompositeKernels.grpoLoss(logits, x.ids(), x.mask(), x.adv(), old, x.ref(), cfg, buffer);
      assertClose("loss", want.loss(), got.loss(), 1e-6, 1e-7);
      assertClose("perTokenLogps", want.perTokenLogps(), got.perTokenLogps(), 0, 0);
      // The gradient is autograd's through the same per-row ops, so float32 agrees to rounding, bf16 exactly after
      // the same final cast (one bf16 ulp allowed for a cast of a value that moved by a float32 rounding).
      assertClose("gradLogits", want.gradLogits(), got.gradLogits(), dtype.equals("bf16") ? 1e-2 : 1e-6, 0);
      assertEquals(TensorAssert.dtypeOf(dtype), TensorChecks.dtype(got.gradLogits()));
      assertEquals(java.util.Arrays.toString(new long[] {b, t, v}),
          java.util.Arrays.toString(TensorChecks.shape(got.gradLogits())));
      if (buffer != null) {
        assertTrue(torch.equal(buffer, got.gradLogits()), "written into the caller's buffer");
      }
      assertClose("kl", want.metrics().kl(), got.metrics().kl(), 1e-6, 1e-7);
      assertClose("entropy", want.metrics().entropy(), got.metrics().entropy(), 1e-6, 1e-7);
      assertEquals(want.metrics().clipRatioLow(), got.metrics().clipRatioLow());
      assertEquals(want.metrics().clipRatioHigh(), got.metrics().clipRatioHigh());
      assertEquals(want.metrics().clipRatioRegion(), got.metrics().clipRatioRegion());
    }
  }

  /**
   * The chunked from-hidden composite against the unchunked math it replaced: all (N, V) logits materialised, one
   * autograd graph over them, dHidden and dW by one matmul each. Chunks of one row, of uneven rows (a short tail) and
   * of all rows; bf16 chunks get half the rows (their float32 logits take the caller's byte budget).
   */
  @ParameterizedTest(name = "{0} chunkRows={1} T={2} {3}")
  @CsvSource({"f32, 12, 1.0, GRPO", "f32, 5, 0.7, GRPO", "f32, 1, 1.0, BNPO", "bf16, 12, 1.0, GRPO",
      "bf16, 8, 1.3, DR_GRPO", "bf16, 2, 1.0, DAPO"})
  void grpoLossFromHiddenEqualsTheMaterialisedLogitsLoss(String dtype, int chunkRows, double temperature,
      LossType lossType) {
    TensorAssert.seed("composite grpoLossFromHidden " + dtype + " chunkRows " + chunkRows);
    try (PointerScope s = new PointerScope()) {
      long b = 3;
      long t = 4;
      long h = 16;
      long v = 5000;
      ScalarType st = TensorAssert.dtypeOf(dtype);
      Tensor hidden = torch.randn(b, t, h).to(st).contiguous();                    // (B, T, H)
      Tensor w = torch.randn(v, h).mul(new Scalar(0.3)).to(st).contiguous();      // (V, H)
      GrpoKernelsTest.Batch x = GrpoKernelsTest.Batch.random(b, t, v, dtype, temperature);
      GrpoLossConfig cfg = GrpoLossConfig.builder().beta(0.04).temperature(temperature).lossType(lossType)
          .maxCompletionLength((int) t + 1).build();
      Tensor h2 = hidden.reshape(b * t, h);                                        // (N, H)
      Tensor logits = h2.mm(w.t()).reshape(b, t, v);                               // (B, T, V)
      GrpoLossResult want = oneGraphLoss(logits, x.ids(), x.mask(), x.adv(), x.old(), x.ref(), cfg);
      Tensor g = want.gradLogits().reshape(b * t, v);                              // (N, V)
      GrpoHiddenLossResult got = CompositeKernels.grpoLossFromHidden(hidden, w, x.ids(), x.mask(), x.adv(), x.old(),
          x.ref(), cfg, chunkRows);
      double rtol = dtype.equals("bf16") ? 1e-2 : 1e-5;
      assertClose("loss", want.loss(), got.loss(), 1e-6, 1e-7);
      assertClose("gradHidden", g.mm(w).reshape(b, t, h), got.gradHidden(), rtol, 0);
      // float32 accumulation over chunks (the unchunked bf16 matmul rounded once in bf16)
      assertClose("gradWeight", g.t().mm(h2), got.gradWeight(), rtol, 0);
      assertEquals(st, TensorChecks.dtype(got.gradWeight()));
      // a chunk's logits matmul may block differently from the whole batch's (bf16 rounds each product sum once):
      // one float32 ulp of the log-prob (seen: 4.8e-7 at -7.95 with 2-row bf16 chunks)
      assertClose("perTokenLogps", want.perTokenLogps(), got.perTokenLogps(), 1e-6, 0);
      assertClose("kl", want.metrics().kl(), got.metrics().kl(), 1e-6, 1e-7);
      assertClose("entropy", want.metrics().entropy(), got.metrics().entropy(), 1e-6, 1e-7);
      assertEquals(want.metrics().clipRatioRegion(), got.metrics().clipRatioRegion());
    }
  }

  /**
   * The composite loss as it was before issue 18, the oracle: log_softmax over all (B, T, V) logits / T and autograd
   * over the whole graph (it needs several (B, T, V) temporaries).
   */
  static GrpoLossResult oneGraphLoss(Tensor logits, Tensor ids, Tensor mask, Tensor advantages, Tensor oldLogps,
      Tensor refLogps, GrpoLossConfig cfg) {
    long b = logits.size(0);
    Tensor x = logits.detach().to(ScalarType.Float).clone();                   // (B, T, V) leaf
    x.set_requires_grad(true);
    Tensor lsm = torch.log_softmax(x.div(new Scalar(cfg.temperature())), 2);   // (B, T, V)
    Tensor lp = lsm.gather(2, ids.unsqueeze(2)).squeeze(2);                     // (B, T)
    Tensor m = mask.to(ScalarType.Float);
    Tensor on = m.ne(new Scalar(0));
    Tensor lpSafe = torch.where(on, lp, new Scalar(0));
    Tensor old = oldLogps != null ? torch.where(on, oldLogps, new Scalar(0)) : lpSafe.detach();
    Tensor ratio = lpSafe.sub(old).exp();
    Tensor clipped = torch.clamp(ratio, new ScalarOptional(new Scalar(1 - cfg.epsilonLow())),
        new ScalarOptional(new Scalar(1 + cfg.epsilonHigh())));
    Tensor a = advantages.to(ScalarType.Float).unsqueeze(1);
    Tensor perToken = torch.minimum(ratio.mul(a), clipped.mul(a)).neg();
    Tensor delta = torch.where(on, refLogps, new Scalar(0)).sub(lpSafe);
    Tensor kl = delta.exp().sub(delta).sub(new Scalar(1));
    perToken = perToken.add(kl.mul(new Scalar(cfg.beta())));
    Tensor masked = perToken.mul(m);
    Tensor loss = switch (cfg.lossType()) {
      case GRPO -> masked.sum(1).div(m.sum(1).clamp_min(new Scalar(1))).mean();
      case BNPO -> masked.sum().div(m.sum().clamp_min(new Scalar(1)));
      case DR_GRPO -> masked.sum().div(new Scalar((double) b * cfg.maxCompletionLength()));
      case DAPO -> masked.sum().div(m.sum().clamp_min(new Scalar(1)));
    };
    loss = loss.mul(new Scalar(cfg.lossScale()));
    loss.backward();
    Tensor msum = m.sum().clamp_min(new Scalar(1));
    Tensor p = lsm.detach().exp();
    double ent = torch.special_xlogy(p, p).sum(2).neg().mul(m).sum().div(msum).item_double();
    double klMean = kl.detach().mul(m).sum().div(msum).item_double();
    Tensor low = ratio.detach().lt(new Scalar(1 - cfg.epsilonLow())).logical_and(a.lt(new Scalar(0)));
    Tensor high = ratio.detach().gt(new Scalar(1 + cfg.epsilonHigh())).logical_and(a.gt(new Scalar(0)));
    double lowMean = low.to(ScalarType.Float).mul(m).sum().div(msum).item_double();
    double highMean = high.to(ScalarType.Float).mul(m).sum().div(msum).item_double();
    double regionMean = low.logical_or(high).to(ScalarType.Float).mul(m).sum().div(msum).item_double();
    return new GrpoLossResult(loss.item_double(), x.grad().to(logits.scalar_type()), lp.detach(),
        new GrpoLossMetrics(klMean, ent, lowMean, highMean, regionMean));
  }
}
