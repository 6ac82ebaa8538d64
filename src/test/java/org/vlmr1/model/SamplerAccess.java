// Test-side access to TensorSampler's package-private weight computation, for the CUDA goldens of its inverse-CDF
// draw (org.vlmr1.kernels.CudaGoldens).
package org.vlmr1.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** The unnormalised weights TensorSampler.next draws from when neither top-k nor top-p filters. */
public final class SamplerAccess {
  private SamplerAccess() {}

  /** exp((double) x / T - rowMax) with TensorSampler's exp, as in next(): (B, V) double. */
  public static Tensor weights(Tensor logits, double temperature) {
    Tensor s = TensorSampler.scaled(logits.to(ScalarType.Float), temperature);            // (B, V) double
    return TensorSampler.exp(s.sub(s.amax(new long[] {1}, true)));                        // (B, V)
  }
}
