// The doctor's numeric self-check: each native kernel against its reference on small inputs from a fixed seed. When
// a kernel runs its reference (composite backend) there is nothing to compare, and the line says so.
package org.vlmr1.cli;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.CompositeKernels;
import org.vlmr1.kernels.GrpoKernels;
import org.vlmr1.kernels.GrpoLossConfig;
import org.vlmr1.kernels.GrpoLossResult;
import org.vlmr1.kernels.ImageKernels;
import org.vlmr1.kernels.KernelBackend;
import org.vlmr1.module.PreprocessCheck;
import org.vlmr1.module.VlmModuleProvider;
import org.vlmr1.module.VlmModules;

/**
 * One kernel compared with its reference.
 *
 * @param what e.g. "grpoLoss vs composite"
 * @param skipped true when the composite backend runs, so the kernel would be compared with itself
 * @param maxDiff the largest absolute difference (NaN when skipped)
 * @param tolerance the largest difference that passes: 1e-4 for the float loss, 0 for the bit-exact image kernels
 */
record KernelSelfCheck(String what, boolean skipped, double maxDiff, double tolerance) {
  boolean ok() {
    return skipped || maxDiff <= tolerance;
  }

  /** The doctor's line for this check. */
  String line() {
    return String.format("self-check    %s: %s", what, skipped ? "skipped (composite vs itself)"
        : String.format("max |diff| %.3g, %s", maxDiff, ok() ? "ok" : "MISMATCH"));
  }

  /** Every check, on whichever backends GrpoKernels and ImageKernels chose. */
  static List<KernelSelfCheck> runAll() {
    List<KernelSelfCheck> out = new java.util.ArrayList<>(List.of(grpoLoss()));
    for (VlmModuleProvider p : VlmModules.providers()) {
      p.preprocessChecks().forEach(c -> out.add(preprocess(c)));
    }
    return out;
  }

  static KernelSelfCheck grpoLoss() {
    String what = "grpoLoss vs composite";
    if (GrpoKernels.backend() != KernelBackend.NATIVE) {
      return new KernelSelfCheck(what, true, Double.NaN, 1e-4);
    }
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(7);
      long b = 2;
      long t = 3;
      long v = 97;
      Tensor logits = torch.randn(b, t, v); // (B, T, V)
      Tensor ids = torch.randint(v, new long[] {b, t}, new TensorOptions(ScalarType.Long));
      Tensor mask = torch.ones(b, t);
      Tensor adv = torch.randn(b);
      Tensor ref = torch.randn(b, t).sub(new Scalar(5));
      GrpoLossConfig cfg = GrpoLossConfig.builder().build();
      GrpoLossResult a = GrpoKernels.grpoLoss(logits, ids, mask, adv, null, ref, cfg);
      GrpoLossResult c = CompositeKernels.grpoLoss(logits, ids, mask, adv, null, ref, cfg, null);
      double diff = Math.max(Math.abs(a.loss() - c.loss()),
          a.gradLogits().sub(c.gradLogits()).abs().max().item_double());
      return new KernelSelfCheck(what, false, diff, 1e-4);
    }
  }

  /** A family's preprocessing on the native image kernels against its Java reference (bit-exact). */
  static KernelSelfCheck preprocess(PreprocessCheck c) {
    if (ImageKernels.backend() != KernelBackend.NATIVE) {
      return new KernelSelfCheck(c.what(), true, Double.NaN, 0);
    }
    return new KernelSelfCheck(c.what(), false, c.maxDiff().getAsDouble(), 0);
  }

  /**
   * The CUDA provider against the composites on the GPU (the same inputs as {@link #grpoLoss}, made on the CPU and
   * copied once): none without a CUDA device; skipped when the -gpu natives did not load.
   */
  static List<KernelSelfCheck> cuda(org.vlmr1.kernels.CudaFacts facts) {
    if (facts.deviceCount() == 0) {
      return List.of();
    }
    String what = "grpoLoss on cuda:0 vs composite";
    if (!org.vlmr1.kernels.KernelProviders.cudaKernelsLoaded()) {
      return List.of(new KernelSelfCheck(what, true, Double.NaN, 1e-4));
    }
    try (PointerScope s = new PointerScope()) {
      org.bytedeco.pytorch.Device gpu = new org.bytedeco.pytorch.Device(torch.DeviceType.CUDA, (byte) 0);
      torch.manual_seed(7);
      long b = 2;
      long t = 3;
      long v = 97;
      Tensor logits = torch.randn(b, t, v).to(gpu, ScalarType.Float); // (B, T, V)
      Tensor ids = torch.randint(v, new long[] {b, t}, new TensorOptions(ScalarType.Long)).to(gpu, ScalarType.Long);
      Tensor mask = torch.ones(b, t).to(gpu, ScalarType.Float);
      Tensor adv = torch.randn(b).to(gpu, ScalarType.Float);
      Tensor ref = torch.randn(b, t).sub(new Scalar(5)).to(gpu, ScalarType.Float);
      GrpoLossConfig cfg = GrpoLossConfig.builder().build();
      GrpoLossResult a = GrpoKernels.grpoLoss(logits, ids, mask, adv, null, ref, cfg);
      GrpoLossResult c = CompositeKernels.grpoLoss(logits, ids, mask, adv, null, ref, cfg, null);
      double diff = Math.max(Math.abs(a.loss() - c.loss()),
          a.gradLogits().sub(c.gradLogits()).abs().max().item_double());
      return List.of(new KernelSelfCheck(what, false, diff, 1e-4));
    }
  }
}
