// The top-k step of the tensor sampler on our C++ kernel (topk_candidates.cpp) for float32 CPU logits: the k-th
// largest value of each row and its candidates (every id tied with it included) in one pass per row, instead of
// libtorch's topk over the (B, V) logits, a (B, V) comparison and count, and a sort. TensorSampler keeps the libtorch
// composite as oracle and fallback.
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Top-k candidates of logits rows. Thread-safe. */
public final class TopKKernels {
  private TopKKernels() {}

  /**
   * The candidates of each row: {@code ids} (B, K) int64, first the ids whose logit is >= the row's k-th largest
   * (counted with multiplicity) in id order, then ids below it (weight 0 in the sampler) up to K, the widest row's
   * count; {@code kth} (B, 1) float32.
   */
  public record Candidates(Tensor ids, Tensor kth) {}

  /** Whether {@link #candidates} runs: float32 contiguous CPU logits and the native kernels loaded. */
  public static boolean usesNative(Tensor logits) {
    return logits.dim() == 2 && TensorChecks.dtype(logits) == ScalarType.Float
        && KernelProviders.deviceType(logits).equals("cpu") && GrpoKernels.backend() == KernelBackend.NATIVE;
  }

  /**
   * The top-k candidates of (B, V) float32 CPU logits with 0 < k < V, or null when a row holds a NaN (libtorch's
   * topk orders NaN above every value; the caller's composite keeps that rule).
   */
  public static Candidates candidates(Tensor logits, int k) {
    if (!usesNative(logits)) {
      throw new IllegalArgumentException("top-k candidates need (B, V) float32 CPU logits and the native kernels, got "
          + TensorChecks.describe(logits) + " (" + GrpoKernels.describeBackend() + ")");
    }
    long b = logits.size(0);
    long v = logits.size(1);
    if (k <= 0 || k >= v) {
      throw new IllegalArgumentException("top-k needs 0 < k < V = " + v + ", got k = " + k);
    }
    Tensor x = logits.contiguous();
    Tensor kth = torch.empty(new long[] {b, 1}, new TensorOptions(ScalarType.Float), null);          // (B, 1)
    Tensor counts = torch.empty(new long[] {b}, new TensorOptions(ScalarType.Long), null);           // (B)
    long cap = k;
    while (true) {
      Tensor ids = torch.empty(new long[] {b, cap}, new TensorOptions(ScalarType.Long), null);     // (B, cap)
      long widest = b == 0 ? k : GrpoNative.topk_candidates(x.data_ptr_float(), b, v, k, cap, ids.data_ptr_long(),
          kth.data_ptr_float(), counts.data_ptr_long());
      if (widest < 0) {
        return null;
      }
      if (widest <= cap) {
        return new Candidates(widest == cap ? ids : ids.narrow(1, 0, widest).contiguous(), kth);
      }
      ids.close(); // too narrow: freed now rather than with the caller's scope
      cap = widest; // ties with the k-th value widen a row past k: again with room for the widest
    }
  }
}
