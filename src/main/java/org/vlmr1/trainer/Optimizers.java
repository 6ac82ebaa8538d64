// The one place the trainers build libtorch's AdamW, so the reversed-betas workaround is written once.
package org.vlmr1.trainer;

import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.TensorVector;

/** Optimizer factories. */
public final class Optimizers {
  private Optimizers() {}

  /**
   * torch.optim.AdamW with explicit hyper-parameters (decoupled weight decay, bias-corrected moments).
   *
   * @param beta1 first-moment decay (HF default 0.9); beta2 second-moment decay (HF default 0.999)
   * @param eps added to the bias-corrected root of the second moment (HF default 1e-8)
   * @param weightDecay decoupled decay: every step multiplies each parameter by {@code 1 - lr * weightDecay}
   */
  public static AdamW adamW(TensorVector params, double lr, double beta1, double beta2, double eps,
      double weightDecay) {
    AdamWOptions o = new AdamWOptions(lr);
    // AdamWOptions.betas() is a DoublePointer over std::tuple<double, double>, which libstdc++ lays out last element
    // first: index 0 is beta2 and index 1 is beta1 (pytorch-platform 2.10.0-1.5.13; JAVACPP-NOTES.md, the
    // AdamW betas GOTCHA). Written in the natural order, the two decays are silently swapped.
    o.betas().put(0, beta2).put(1, beta1);
    o.eps().put(eps);
    o.weight_decay().put(weightDecay);
    return new AdamW(params, o);
  }
}
