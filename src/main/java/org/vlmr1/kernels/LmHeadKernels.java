// The decode step's LM head, logits = hidden @ weight^T, on our streaming C++ kernel (lm_head.cpp) for float32 CPU
// operands, with torch.linear as oracle and fallback. OpenBLAS re-packs the whole (V, H) weight at every call; at
// V = 151,936 that copy was 10% of a GRPO step's CPU (issue 18).
package org.vlmr1.kernels;

import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** LM-head logits of a few hidden rows. Thread-safe. */
public final class LmHeadKernels {
  private LmHeadKernels() {}

  /**
   * The logits of {@code hidden} under the head {@code weight}: our kernel when {@link #usesNative} holds, else
   * {@code torch.linear(hidden, weight)}. Summation order differs from libtorch's, so logits agree to float32
   * rounding (relative ~1e-6 x sqrt(H)), not bit for bit.
   *
   * @param hidden (B, H), any floating dtype; the native path takes float32
   * @param weight (V, H) of hidden's dtype and device
   * @return (B, V) logits, owned by the caller's PointerScope
   */
  public static Tensor logits(Tensor hidden, Tensor weight) {
    if (hidden.dim() != 2 || weight.dim() != 2 || hidden.size(1) != weight.size(1)) {
      throw new IllegalArgumentException("LM head needs hidden (B, H) and weight (V, H), got hidden "
          + TensorChecks.describe(hidden) + " and weight " + TensorChecks.describe(weight));
    }
    if (!usesNative(hidden, weight)) {
      return torch.linear(hidden, weight);                                                  // (B, V)
    }
    return nativeLogits(hidden.contiguous(), weight);
  }

  /**
   * Whether {@link #logits} runs our kernel: both operands float32 on the CPU, the weight contiguous, no autograd
   * graph wanted (grad mode off or neither operand requiring grad; the kernel has no backward), and the native
   * kernels loaded ({@link GrpoKernels#backend}, so {@code -Dvlmr1.kernels=composite} forces torch.linear).
   */
  public static boolean usesNative(Tensor hidden, Tensor weight) {
    return TensorChecks.dtype(hidden) == ScalarType.Float && TensorChecks.dtype(weight) == ScalarType.Float
        && KernelProviders.deviceType(hidden).equals("cpu") && KernelProviders.deviceType(weight).equals("cpu")
        && weight.is_contiguous()
        && !(GradMode.is_enabled() && (hidden.requires_grad() || weight.requires_grad()))
        && GrpoKernels.backend() == KernelBackend.NATIVE;
  }

  /** Our kernel on validated operands: hidden (B, H) and weight (V, H) float32, contiguous, on the CPU. */
  static Tensor nativeLogits(Tensor hidden, Tensor weight) {
    long b = hidden.size(0);
    long v = weight.size(0);
    Tensor out = torch.empty(new long[] {b, v}, new TensorOptions(ScalarType.Float), null);  // (B, V)
    if (b > 0) {
      GrpoNative.lm_head_logits(hidden.data_ptr_float(), weight.data_ptr_float(), b, v, hidden.size(1),
          out.data_ptr_float());
    }
    return out;
  }
}
