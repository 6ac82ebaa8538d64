// The provider on the libtorch composites (CompositeKernels), for any device: it checks what the native kernels
// check themselves (id ranges, finite rewards) with libtorch's ops, for messages as clear as theirs.
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The libtorch composites. */
final class CompositeProvider implements KernelProvider {
  @Override
  public String describe() {
    return "libtorch composite";
  }

  @Override
  public TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy) {
    checkIdRange("targets", targets, logits.size(1));
    return CompositeKernels.tokenLogProbs(logits, targets, temperature, withEntropy);
  }

  @Override
  public Tensor groupAdvantages(Tensor rewards, int groupSize, ScaleRewards scale) {
    checkFiniteRewards(rewards);
    return CompositeKernels.groupAdvantages(rewards, groupSize, scale);
  }

  @Override
  public GrpoLossResult grpoLoss(Tensor logits, Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref,
      GrpoLossConfig cfg, Tensor gradOut) {
    checkIdRange("completionIds", ids, logits.size(2));
    return CompositeKernels.grpoLoss(logits, ids, mask, adv, old, ref, cfg, gradOut);
  }

  @Override
  public GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor lmHeadWeight, Tensor ids, Tensor mask,
      Tensor adv, Tensor old, Tensor ref, GrpoLossConfig cfg, int chunkRows) {
    checkIdRange("completionIds", ids, lmHeadWeight.size(0));
    return CompositeKernels.grpoLossFromHidden(hidden, lmHeadWeight, ids, mask, adv, old, ref, cfg, chunkRows);
  }

  /** The CPU kernel's check of the rewards, for providers whose kernels cannot throw (composites, CUDA). */
  static void checkFiniteRewards(Tensor rewards) {
    long bad = TensorChecks.firstTrue(torch.isfinite(rewards).logical_not());
    if (bad >= 0) {
      throw new IllegalArgumentException("group_advantages: reward " + bad + " is not finite");
    }
  }

  /**
   * The native CPU kernels check id ranges themselves; the composites would give libtorch's less helpful message,
   * and a CUDA kernel cannot throw.
   */
  static void checkIdRange(String name, Tensor ids, long vocab) {
    long bad = TensorChecks.firstTrue(ids.lt(new Scalar(0)).logical_or(ids.ge(new Scalar(vocab))));
    if (bad >= 0) {
      throw new IllegalArgumentException(name + ": id " + ids.flatten().get(bad).item_long() + " at index " + bad
          + " is out of range [0, " + vocab + ")");
    }
  }
}
