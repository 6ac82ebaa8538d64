// The LM head's gradient from the fused loss kernels, accumulated straight into the head parameter's .grad.
package org.vlmr1.trainer;

import java.util.Arrays;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.kernels.TensorChecks;

/**
 * Adds the fused loss's dLoss/dW (V, H) to the head weight's gradient: the untied head's, or the embedding table's
 * when tied (then the decoder's backward adds the embedding lookup's gradient to the same tensor). Replaces
 * {@code head.mul(gradWeight).sum().backward()}, which built an autograd graph and two V x H temporaries (the
 * product, and the backward's zeros) to do the same addition.
 */
final class HeadGradient {
  private HeadGradient() {}

  /**
   * Gives the head its gradient whatever the head is: a parameter (the embedding's when tied) takes it straight into
   * its .grad ({@link #accumulate}); a head built from LoRA adapters (merged, or widened with the dropout pair)
   * passes d/dW sum(W * G) = G back to them through autograd (as the head's gradient); a frozen head (LoRA
   * without an lm_head adapter) has none to take.
   */
  static void apply(Tensor head, Tensor gradWeight) {
    if (head.is_leaf() && head.requires_grad()) {
      accumulate(head, gradWeight);
    } else if (head.requires_grad()) {
      // d/dW sum(W * G) = G handed to autograd as the head's own gradient: no V x H product and no second V x H
      // gradient of it (on the 3B-wide widened LoRA head those were ~2.5 GB of the step's peak)
      head.backward(gradWeight.to(head.scalar_type()), new org.bytedeco.pytorch.BoolOptional(), false, null);
    }
  }

  /**
   * head.grad += gradWeight, or head.grad = gradWeight when the gradient is still undefined (no copy: the caller
   * hands gradWeight over and must not read it afterwards, since later backward passes accumulate into it).
   *
   * @param head the head weight (V, H), a leaf that requires grad
   * @param gradWeight (V, H) of the head's dtype and device, a fresh tensor no one else holds
   */
  static void accumulate(Tensor head, Tensor gradWeight) {
    if (!Arrays.equals(TensorChecks.shape(head), TensorChecks.shape(gradWeight))
        || TensorChecks.dtype(head) != TensorChecks.dtype(gradWeight)) {
      throw new IllegalArgumentException("gradWeight " + TensorChecks.describe(gradWeight)
          + " does not match the head " + TensorChecks.describe(head));
    }
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor g = head.grad();
      if (g.defined()) {
        g.add_(gradWeight);                                                                        // (V, H)
      } else {
        head.mutable_grad().put(gradWeight);
      }
    }
  }
}
