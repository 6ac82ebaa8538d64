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
}
