// Hyper-parameters of the fused GRPO loss (VLM-R1-SPEC.md 4.3-4.4, TRL's names).
package org.vlmr1.kernels;

/**
 * Configuration of {@link GrpoKernels#grpoLoss}; validated at construction.
 *
 * @param epsilonLow lower clip, ratio >= 1 - epsilonLow (default 0.2, VLM-R1's epsilon)
 * @param epsilonHigh upper clip, ratio <= 1 + epsilonHigh (default 0.2; DAPO uses 0.28)
 * @param beta KL coefficient (default 0.04); 0 skips the KL term and needs no reference log-probs
 * @param temperature log-probs are of logits / temperature, TRL's semantics (default 1.0)
 * @param lossType aggregation over tokens (default {@link LossType#GRPO})
 * @param maxCompletionLength the configured completion length, DR_GRPO's normaliser (default 256)
 * @param dapoTokenCount DAPO's normaliser: unmasked tokens of the whole optimizer step over all processes, divided by
 *     the number of processes; 0 (default) means the micro-batch's own count
 * @param lossScale multiplies the loss and its gradient: 1 / gradient-accumulation steps for GRPO, BNPO and DR_GRPO
 *     (what HF's Trainer does), 1 for DAPO whose normaliser already spans the step (default 1)
 */
public record GrpoLossConfig(double epsilonLow, double epsilonHigh, double beta, double temperature,
    LossType lossType, int maxCompletionLength, double dapoTokenCount, double lossScale) {

  public GrpoLossConfig {
    require(epsilonLow >= 0 && epsilonLow < 1, "epsilonLow must be in [0, 1), got " + epsilonLow);
    require(epsilonHigh >= 0 && Double.isFinite(epsilonHigh), "epsilonHigh must be >= 0, got " + epsilonHigh);
    require(beta >= 0 && Double.isFinite(beta), "beta must be >= 0, got " + beta);
    require(temperature > 0 && Double.isFinite(temperature), "temperature must be > 0, got " + temperature);
    require(lossType != null, "lossType must be set");
    require(maxCompletionLength > 0, "maxCompletionLength must be > 0, got " + maxCompletionLength);
    require(dapoTokenCount >= 0 && Double.isFinite(dapoTokenCount),
        "dapoTokenCount must be >= 0 (0 = the local count), got " + dapoTokenCount);
    require(lossScale > 0 && Double.isFinite(lossScale), "lossScale must be > 0, got " + lossScale);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("GrpoLossConfig: " + message);
    }
  }

  /** VLM-R1's defaults: epsilon 0.2/0.2, beta 0.04, temperature 1, GRPO, 256 tokens, local DAPO count, scale 1. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from this configuration. */
  public Builder toBuilder() {
    return new Builder().epsilonLow(epsilonLow).epsilonHigh(epsilonHigh).beta(beta).temperature(temperature)
        .lossType(lossType).maxCompletionLength(maxCompletionLength).dapoTokenCount(dapoTokenCount)
        .lossScale(lossScale);
  }

  /** Builder with VLM-R1's defaults. */
  public static final class Builder {
    private double epsilonLow = 0.2;
    private double epsilonHigh = 0.2;
    private double beta = 0.04;
    private double temperature = 1.0;
    private LossType lossType = LossType.GRPO;
    private int maxCompletionLength = 256;
    private double dapoTokenCount = 0;
    private double lossScale = 1.0;

    private Builder() {}

    /** Sets both clip bounds (VLM-R1's single epsilon). */
    public Builder epsilon(double v) {
      this.epsilonLow = v;
      this.epsilonHigh = v;
      return this;
    }

    public Builder epsilonLow(double v) {
      this.epsilonLow = v;
      return this;
    }

    public Builder epsilonHigh(double v) {
      this.epsilonHigh = v;
      return this;
    }

    public Builder beta(double v) {
      this.beta = v;
      return this;
    }

    public Builder temperature(double v) {
      this.temperature = v;
      return this;
    }

    public Builder lossType(LossType v) {
      this.lossType = v;
      return this;
    }

    public Builder maxCompletionLength(int v) {
      this.maxCompletionLength = v;
      return this;
    }

    public Builder dapoTokenCount(double v) {
      this.dapoTokenCount = v;
      return this;
    }

    public Builder lossScale(double v) {
      this.lossScale = v;
      return this;
    }

    public GrpoLossConfig build() {
      return new GrpoLossConfig(epsilonLow, epsilonHigh, beta, temperature, lossType, maxCompletionLength,
          dapoTokenCount, lossScale);
    }
  }
}
