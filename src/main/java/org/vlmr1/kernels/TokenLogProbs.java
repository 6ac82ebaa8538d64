// Result of GrpoKernels.tokenLogProbs.
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Tensor;

/**
 * @param logProbs (N) float32: log-softmax of logits / temperature at each row's target
 * @param entropy (N) float32 row entropies, or null when not asked for
 */
public record TokenLogProbs(Tensor logProbs, Tensor entropy) {}
