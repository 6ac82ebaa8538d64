// The CPU provider on our C++ kernels (NativeKernels); their argument errors come back as IllegalArgumentException.
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Our native CPU kernels. */
final class NativeProvider implements KernelProvider {
  static final NativeProvider INSTANCE = new NativeProvider();

  private NativeProvider() {}

  @Override
  public String describe() {
    return "native " + GrpoNative.kernel_isa() + ", " + GrpoNative.kernel_threads() + " OpenMP threads";
  }

  private static int dtype(Tensor t) {
    return TensorChecks.dtype(t) == ScalarType.BFloat16 ? GrpoNative.DTYPE_BF16 : GrpoNative.DTYPE_F32;
  }

  @Override
  public TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy) {
    try {
      return NativeKernels.tokenLogProbs(logits, dtype(logits), targets, temperature, withEntropy);
    } catch (RuntimeException e) {
      throw translate(e);
    }
  }

  @Override
  public Tensor groupAdvantages(Tensor rewards, int groupSize, ScaleRewards scale) {
    try {
      return NativeKernels.groupAdvantages(rewards, groupSize, scale);
    } catch (RuntimeException e) {
      throw translate(e);
    }
  }

  @Override
  public GrpoLossResult grpoLoss(Tensor logits, Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref,
      GrpoLossConfig cfg, Tensor gradOut) {
    try {
      return NativeKernels.grpoLoss(logits, dtype(logits), ids, mask, adv, old, ref, cfg, gradOut);
    } catch (RuntimeException e) {
      throw translate(e);
    }
  }

  @Override
  public GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor lmHeadWeight, Tensor ids, Tensor mask,
      Tensor adv, Tensor old, Tensor ref, GrpoLossConfig cfg, int chunkRows) {
    try {
      return NativeKernels.grpoLossFromHidden(hidden, dtype(hidden), lmHeadWeight, ids, mask, adv, old, ref, cfg,
          chunkRows);
    } catch (RuntimeException e) {
      throw translate(e);
    }
  }

  /**
   * Our C++ kernels throw std::invalid_argument with a message starting with the kernel's name; JavaCPP hands it over
   * as a RuntimeException. Those are argument errors; anything else (libtorch running out of memory) passes as is.
   */
  private static RuntimeException translate(RuntimeException e) {
    String m = e.getMessage();
    if (!(e instanceof IllegalArgumentException) && m != null && (m.startsWith("grpo_loss:")
        || m.startsWith("token_logprobs:") || m.startsWith("group_advantages:") || m.startsWith("unknown dtype"))) {
      return new IllegalArgumentException(m, e);
    }
    return e;
  }
}
