// Result of GrpoKernels.grpoLossFromHidden: the fused linear + GRPO loss.
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Tensor;

/**
 * @param loss the scalar loss (already multiplied by lossScale)
 * @param gradHidden (B, T, H) dLoss/dHidden in the hidden states' dtype
 * @param gradWeight (V, H) dLoss/dWeight in the weight's dtype. With tied embeddings (Qwen2.5-VL-3B, the tiny test
 *     models) the head weight is the embedding table, so the caller adds this to the embedding's gradient as well as
 *     propagating gradHidden through the decoder
 * @param perTokenLogps (B, T) float32 log-probs of the completion tokens
 * @param metrics TRL's logged metrics
 */
public record GrpoHiddenLossResult(double loss, Tensor gradHidden, Tensor gradWeight, Tensor perTokenLogps,
    GrpoLossMetrics metrics) {}
