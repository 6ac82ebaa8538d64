// Result of GrpoKernels.grpoLoss: loss, analytic gradient with respect to the logits, log-probs and metrics.
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Tensor;

/**
 * @param loss the scalar loss (already multiplied by lossScale)
 * @param gradLogits (B, T, V) dLoss/dLogits in the logits' dtype; it is the caller's buffer when one was passed
 *     (possibly the logits themselves), so call {@code logits.backward(gradLogits)} on the graph that made them
 * @param perTokenLogps (B, T) float32 log-probs of the completion tokens (of logits / temperature)
 * @param metrics TRL's logged metrics
 */
public record GrpoLossResult(double loss, Tensor gradLogits, Tensor perTokenLogps, GrpoLossMetrics metrics) {}
