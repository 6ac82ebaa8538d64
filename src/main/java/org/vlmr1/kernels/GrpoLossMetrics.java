// The metrics TRL logs for a GRPO loss step, each a masked mean over the micro-batch's completion tokens.
package org.vlmr1.kernels;

/**
 * @param kl mean k3 KL to the reference (0 when beta = 0)
 * @param entropy mean entropy of the policy's token distribution (of logits / temperature)
 * @param clipRatioLow fraction of tokens with ratio < 1 - epsilonLow and a negative advantage
 * @param clipRatioHigh fraction of tokens with ratio > 1 + epsilonHigh and a positive advantage
 * @param clipRatioRegion fraction of tokens in either case
 */
public record GrpoLossMetrics(double kl, double entropy, double clipRatioLow, double clipRatioHigh,
    double clipRatioRegion) {}
