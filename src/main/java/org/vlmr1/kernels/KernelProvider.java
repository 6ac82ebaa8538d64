// The GRPO kernels of one device type (Jlama's TensorOperationsProvider): GrpoKernels validates the arguments and
// dispatches each call to the provider of its tensors' device, so a CUDA twin is one more provider, not a flag
// checked in every kernel.
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Tensor;

/**
 * Implementations receive validated arguments (GrpoKernels' Javadoc): every tensor on the provider's device,
 * contiguous, small operands float32, ids int64.
 */
public interface KernelProvider {
  /** One line for logs and doctor (e.g. "native avx2, 2 OpenMP threads"). */
  String describe();

  TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy);

  Tensor groupAdvantages(Tensor rewards, int groupSize, ScaleRewards scale);

  GrpoLossResult grpoLoss(Tensor logits, Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref,
      GrpoLossConfig cfg, Tensor gradOut);

  GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor lmHeadWeight, Tensor ids, Tensor mask, Tensor adv,
      Tensor old, Tensor ref, GrpoLossConfig cfg, int chunkRows);

  /**
   * The sampler's inverse-CDF draw after its top-k / top-p filtering (TensorSampler): each row's cdf is the running
   * sum of {@code w} accumulated sequentially left to right in double (the CPU reference's order; a parallel scan
   * rounds differently), and the pick is the count of cdf entries {@code <= u * W}, or, when that is every entry,
   * the last index with {@code w > 0} (0 when none is). The default is the libtorch composite, whose CPU cumsum is
   * sequential; a provider whose device's cumsum is a parallel scan (CUDA) overrides it.
   *
   * @param w (B, K) double weights, 0 for dropped entries; u (B) double uniforms in [0, 1)
   * @return (B) int64 positions in [0, K)
   */
  default Tensor sampleDraw(Tensor w, Tensor u) {
    return CompositeKernels.sampleDraw(w, u);
  }

  /**
   * The sampler's top-p (nucleus) step (TensorSampler), between top-k and the draw: with {@code W} the sequential
   * left-to-right sum of a row of {@code w}, the entries sorted by weight descending (ties larger id first) keep
   * their weight while the sequential sum of the weights before them, each divided by {@code W}, is below
   * {@code topP} (the first always does); the rest become 0. The default is the libtorch composite, whose CPU
   * cumsums are sequential; a provider whose device's cumsum is a parallel scan (CUDA) overrides it.
   *
   * @param w (B, K) double weights in id order, 0 for dropped entries; topP in (0, 1)
   * @return (B, K) double: w with the entries outside each row's nucleus set to 0
   */
  default Tensor topPFilter(Tensor w, double topP) {
    return CompositeKernels.topPFilter(w, topP);
  }
}
