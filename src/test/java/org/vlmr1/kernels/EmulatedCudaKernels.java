// The Java side of the CUDA twins (CudaProvider: output allocation, argument order, dtype and enum codes, the reduce's
// read-back and error counts, the top-p sort, the chunk loop of the loss from hidden states) against the twins' own
// source built for the CPU. CudaProviderEmulationTest links CudaNative's JavaCPP glue with the emulated kernels
// (src/test/cuda/emu) and starts this in a JVM whose JavaCPP platform extension is -gpu, so KernelProviders' CUDA
// choice loads them as it would on a GPU machine; the tensors stay on the CPU (the emulation's device memory is host
// memory) and the CUDA provider is registered for them. Every call goes through GrpoKernels' validation, as the
// trainer's do; the oracle is the CPU's provider (our native kernels, else the composites), with check.py's
// tolerances. Exits 0 with a count when every check passed; an AssertionError (exit 1) names the first that failed.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vlmr1.kernels.TensorAssert.assertClose;

import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

final class EmulatedCudaKernels {
  private final KernelProvider cuda;
  private final KernelProvider cpu;
  private int checks;

  private EmulatedCudaKernels(KernelProvider cuda, KernelProvider cpu) {
    this.cuda = cuda;
    this.cpu = cpu;
  }

  /** args: the seed. */
  public static void main(String[] args) {
    long seed = Long.parseLong(args[0]);
    TorchRuntime.load();
    torch.manual_seed(seed);
    assertTrue(KernelProviders.cudaKernelsLoaded(), "the -gpu natives did not load: " + KernelProviders.describeCuda());
    KernelProvider cuda = KernelProviders.forDeviceType("cuda");
    assertSame(CudaProvider.INSTANCE, cuda, "the provider for CUDA tensors");
    assertTrue(cuda.describe().contains("CPU emulation"), "not the emulated kernels: " + cuda.describe());
    KernelProvider cpu = KernelProviders.forDeviceType("cpu");
    EmulatedCudaKernels run = new EmulatedCudaKernels(cuda, cpu);
    try (PointerScope s = new PointerScope()) {
      run.tokenLogProbs();
      run.groupAdvantages();
      run.grpoLoss();
      run.grpoLossErrors();
      run.grpoLossFromHidden();
      run.sampler();
    }
    System.out.println("EmulatedCudaKernels: " + run.checks + " checks passed, seed " + seed + "; " + cuda.describe()
        + " against " + cpu.describe());
  }

  /** {@code call} with the CUDA provider serving CPU tensors, through GrpoKernels as the trainer calls it. */
  private <T> T onCuda(Supplier<T> call) {
    KernelProvider before = KernelProviders.register("cpu", cuda);
    try {
      return call.get();
    } finally {
      KernelProviders.register("cpu", before);
    }
  }

  private void tokenLogProbs() {
    for (String dtype : new String[] {"f32", "bf16"}) {
      // V: odd, a multiple of the vector width, 1; temperatures on both sides of 1.
      long[][] shapes = {{7, 1003}, {9, 4096}, {3, 1}, {5, 17}};
      double[] temperatures = {1.0, 0.7, 1.0, 2.0};
      for (int c = 0; c < shapes.length; c++) {
        long n = shapes[c][0];
        long v = shapes[c][1];
        double temperature = temperatures[c];
        Tensor logits = GrpoKernelsTest.randLogits(n, v, "f32", 3);          // (N, V)
        Tensor ids = GrpoKernelsTest.randIds(v, n);                          // (N)
        if (v > 8) {
          logits.get(0).narrow(0, 0, v / 2).fill_(new Scalar(Float.NEGATIVE_INFINITY));
          ids.get(0).fill_(new Scalar(v - 1));
          ids.get(1).fill_(new Scalar(0));
          logits.get(1).narrow(0, 0, 1).fill_(new Scalar(Float.NEGATIVE_INFINITY)); // a -inf target: -inf log-prob
          if (temperature == 1.0) { // +-1e4 at T != 1 is the scaling's one-ulp question (check.py's slack)
            logits.get(2).mul_(new Scalar(1e4 / 3));
          }
        }
        Tensor x = logits.to(TensorAssert.dtypeOf(dtype)).contiguous();
        String what = "tokenLogProbs " + dtype + " " + n + "x" + v + " T=" + temperature;
        TokenLogProbs got = onCuda(() -> GrpoKernels.tokenLogProbs(x, ids, temperature, true));
        TokenLogProbs want = cpu.tokenLogProbs(x, ids, temperature, true);
        assertClose(what + " logp", want.logProbs(), got.logProbs(), 1e-5, 1e-5);
        assertClose(what + " entropy", want.entropy(), got.entropy(), 5e-5, 1e-5);
        assertNull(onCuda(() -> GrpoKernels.tokenLogProbs(x, ids, temperature, false)).entropy(), what);
        checks += 3;
      }
    }
  }

  private void groupAdvantages() {
    for (ScaleRewards scale : ScaleRewards.values()) {
      for (int groupSize : new int[] {1, 3, 8}) {
        Tensor rewards = torch.rand(new long[] {24}, (TensorOptions) null);                   // (B*G)
        rewards.narrow(0, 0, groupSize).fill_(new Scalar(0.5)); // a group of equal rewards: advantage 0
        Tensor got = onCuda(() -> GrpoKernels.groupAdvantages(rewards, groupSize, scale));
        assertClose("groupAdvantages " + scale + " G=" + groupSize, cpu.groupAdvantages(rewards, groupSize, scale),
            got, 1e-5, 1e-6);
        checks++;
      }
    }
    GrpoKernelsTest.assertMessage("not finite", () -> onCuda(() -> GrpoKernels.groupAdvantages(
        torch.tensor(new float[] {1, Float.NaN}), 2, ScaleRewards.GROUP)));
    checks++;
  }

  private void grpoLoss() {
    for (String dtype : new String[] {"f32", "bf16"}) {
      for (LossType lossType : LossType.values()) {
        for (boolean withOld : new boolean[] {false, true}) {
          for (double beta : new double[] {0, 0.04}) {
            double temperature = withOld ? 0.7 : 1.0;
            GrpoKernelsTest.Batch x = GrpoKernelsTest.Batch.random(5, 7, 389, dtype, temperature);
            GrpoLossConfig cfg = GrpoLossConfig.builder().epsilonLow(0.2).epsilonHigh(0.28).beta(beta)
                .temperature(temperature).lossType(lossType).maxCompletionLength(9)
                .dapoTokenCount(lossType == LossType.DAPO ? 13.5 : 0).lossScale(0.5).build();
            Tensor old = withOld ? x.old() : null;
            Tensor ref = beta > 0 ? x.ref() : null;
            String what = "grpoLoss " + dtype + " " + lossType + " old=" + withOld + " beta=" + beta;
            GrpoLossResult got = onCuda(() -> GrpoKernels.grpoLoss(x.logits(), x.ids(), x.mask(), x.adv(), old, ref,
                cfg));
            GrpoLossResult want = cpu.grpoLoss(x.logits(), x.ids(), x.mask(), x.adv(), old, ref, cfg, null);
            assertClose(what + " loss", want.loss(), got.loss(), 1e-5, 1e-6);
            assertClose(what + " grad", want.gradLogits(), got.gradLogits(), dtype.equals("bf16") ? 1e-2 : 2e-5,
                1e-9);
            assertEquals(TensorAssert.dtypeOf(dtype), TensorChecks.dtype(got.gradLogits()), what + " grad dtype");
            assertClose(what + " logp", want.perTokenLogps(), got.perTokenLogps(), 1e-5, 1e-5);
            GrpoLossMetrics m = got.metrics();
            GrpoLossMetrics e = want.metrics();
            assertClose(what + " kl", e.kl(), m.kl(), 1e-5, 1e-6);
            assertClose(what + " entropy", e.entropy(), m.entropy(), 1e-5, 1e-6);
            assertClose(what + " clip low", e.clipRatioLow(), m.clipRatioLow(), 0, 1e-6);
            assertClose(what + " clip high", e.clipRatioHigh(), m.clipRatioHigh(), 0, 1e-6);
            assertClose(what + " clip region", e.clipRatioRegion(), m.clipRatioRegion(), 0, 1e-6);
            if (withOld) {
              assertTrue(m.clipRatioLow() > 0 && m.clipRatioHigh() > 0, what + ": the batch exercises both clips");
            }
            // The gradient written into the logits' own buffer (the chunked loss's way) is the same, bit for bit.
            Tensor buffer = x.logits().clone();
            GrpoLossResult inPlace = onCuda(() -> GrpoKernels.grpoLoss(buffer, x.ids(), x.mask(), x.adv(), old, ref,
                cfg, buffer));
            assertTrue(torch.equal(got.gradLogits(), buffer), what + ": in place, the same gradient");
            assertEquals(got.loss(), inPlace.loss(), what + ": in place, the same loss");
            checks += 9;
          }
        }
      }
    }
  }

  private void grpoLossErrors() {
    GrpoKernelsTest.Batch x = GrpoKernelsTest.Batch.random(2, 3, 50, "f32", 1);
    GrpoLossConfig cfg = GrpoLossConfig.builder().build();
    // Every token masked: loss 0, a zero gradient, zero metrics.
    GrpoLossResult none = onCuda(() -> GrpoKernels.grpoLoss(x.logits(), x.ids(), torch.zeros(2, 3), x.adv(), null,
        x.ref(), cfg));
    assertEquals(0.0, none.loss(), "all masked: loss");
    assertEquals(0.0, none.gradLogits().abs().max().item_float(), "all masked: gradient");
    assertEquals(new GrpoLossMetrics(0, 0, 0, 0, 0), none.metrics(), "all masked: metrics");
    // A -inf logit at an unmasked target: the reduce counts it and the provider raises the CPU kernel's error.
    Tensor logits = x.logits().clone();
    logits.get(1).get(2).get(x.ids().get(1).get(2).item_long()).fill_(new Scalar(Float.NEGATIVE_INFINITY));
    Tensor ones = torch.ones(2, 3);
    String cpuMessage = message(() -> cpu.grpoLoss(logits, x.ids(), ones, x.adv(), null, x.ref(), cfg, null));
    String cudaMessage = message(() -> onCuda(() -> GrpoKernels.grpoLoss(logits, x.ids(), ones, x.adv(), null,
        x.ref(), cfg)));
    assertTrue(cudaMessage.contains("non-finite"), cudaMessage);
    if (cpu == NativeProvider.INSTANCE) {
      assertEquals(cpuMessage, cudaMessage, "the CPU kernel's message");
    }
    // Masked, the same -inf is fine.
    Tensor mask = ones.clone();
    mask.get(1).get(2).fill_(new Scalar(0));
    GrpoLossResult masked = onCuda(() -> GrpoKernels.grpoLoss(logits, x.ids(), mask, x.adv(), null, x.ref(), cfg));
    assertClose("masked -inf loss", cpu.grpoLoss(logits, x.ids(), mask, x.adv(), null, x.ref(), cfg, null).loss(),
        masked.loss(), 1e-5, 1e-6);
    GrpoKernelsTest.assertMessage("out of range [0, 50)", () -> onCuda(() -> GrpoKernels.grpoLoss(x.logits(),
        x.ids().add(new Scalar(50)), x.mask(), x.adv(), null, x.ref(), cfg)));
    GrpoKernelsTest.assertMessage("out of range [0, 50)", () -> onCuda(() -> GrpoKernels.tokenLogProbs(
        x.logits().reshape(6, 50), x.ids().reshape(6).add(new Scalar(50)), 1, false)));
    checks += 6;
  }

  private static String message(Runnable call) {
    try {
      call.run();
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
    throw new AssertionError("no IllegalArgumentException");
  }

  private void grpoLossFromHidden() {
    String[] dtypes = {"f32", "f32", "f32", "bf16", "bf16"};
    LossType[] types = {LossType.GRPO, LossType.DAPO, LossType.DR_GRPO, LossType.BNPO, LossType.GRPO};
    int[] chunks = {4, 64, 1, 4, 7}; // 15 rows: a short last chunk, one chunk, one row at a time
    for (int c = 0; c < dtypes.length; c++) {
      long b = 3;
      long t = 5;
      long h = 24;
      long v = 389;
      ScalarType st = TensorAssert.dtypeOf(dtypes[c]);
      Tensor hidden = torch.randn(b, t, h).to(st).contiguous();                           // (B, T, H)
      Tensor w = torch.randn(v, h).mul(new Scalar(0.3)).to(st).contiguous();              // (V, H)
      Tensor ids = GrpoKernelsTest.randIds(v, b, t);                                      // (B, T)
      Tensor mask = torch.ones(b, t);                                                     // (B, T)
      mask.get(0).narrow(0, 3, 2).fill_(new Scalar(0));
      Tensor adv = torch.randn(b);                                                        // (B)
      Tensor ref = torch.randn(b, t).sub(new Scalar(6));                                  // (B, T)
      Tensor old = c % 2 == 0 ? ref.add(new Scalar(0.1)) : null;                          // (B, T)
      GrpoLossConfig cfg = GrpoLossConfig.builder().lossType(types[c]).temperature(0.9).maxCompletionLength(6)
          .build();
      int chunk = chunks[c];
      String what = "grpoLossFromHidden " + dtypes[c] + " " + types[c] + " chunk=" + chunk;
      GrpoHiddenLossResult got = onCuda(() -> GrpoKernels.grpoLossFromHidden(hidden, w, ids, mask, adv, old, ref, cfg,
          chunk));
      GrpoHiddenLossResult want = cpu.grpoLossFromHidden(hidden, w, ids, mask, adv, old, ref, cfg, chunk);
      double rtol = st == ScalarType.BFloat16 ? 2e-2 : 1e-4; // bf16 matmuls round the logits and products
      assertClose(what + " loss", want.loss(), got.loss(), rtol, 1e-6);
      assertClose(what + " gradHidden", want.gradHidden(), got.gradHidden(), rtol, 0);
      assertClose(what + " gradWeight", want.gradWeight(), got.gradWeight(), rtol, 0);
      assertEquals(st, TensorChecks.dtype(got.gradWeight()), what + " gradWeight dtype");
      assertEquals(st, TensorChecks.dtype(got.gradHidden()), what + " gradHidden dtype");
      assertClose(what + " logp", want.perTokenLogps(), got.perTokenLogps(), rtol, 1e-5);
      assertClose(what + " kl", want.metrics().kl(), got.metrics().kl(), rtol, 1e-6);
      checks += 7;
    }
  }

  /** The keyed sampler's two steps are exact: the same positions and filtered weights as the composites. */
  private void sampler() {
    for (int rep = 0; rep < 4; rep++) {
      // Weights on a grid of quarters: ties everywhere, zeros included.
      Tensor w = torch.floor(torch.rand(6, 50).mul(new Scalar(4))).div(new Scalar(4)).to(ScalarType.Double);  // (B, K)
      w.get(5).fill_(new Scalar(0)); // an all-zero row
      Tensor u = torch.rand(new long[] {6}, new TensorOptions(ScalarType.Double));                            // (B)
      u.get(0).fill_(new Scalar(0.0));
      for (double topP : new double[] {1.0, 0.9, 0.5, 0.05}) {
        Tensor kept = cuda.topPFilter(w, topP);
        assertTrue(torch.equal(CompositeKernels.topPFilter(w, topP), kept), "topPFilter p=" + topP + " rep " + rep);
        Tensor pos = cuda.sampleDraw(kept, u);
        assertTrue(torch.equal(CompositeKernels.sampleDraw(kept, u), pos), "sampleDraw p=" + topP + " rep " + rep);
        checks += 2;
      }
    }
  }
}
