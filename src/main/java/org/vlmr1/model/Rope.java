// Rotary position embedding shared by the decoders (transformers' Qwen2RotaryEmbedding, default and dynamic NTK):
// inverse frequencies in float32, angles position * inv_freq, cat(freqs, freqs), cos and sin.
package org.vlmr1.model;

import org.vlmr1.kernels.Devices;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Rotary tables. */
public final class Rope {
  private Rope() {}

  /** 1 / theta^(2j/dim), j = 0..dim/2-1, float32 (computed as transformers does: float exponents, pow, reciprocal). */
  public static Tensor invFreq(double theta, long dim) {
    Tensor exps = torch.arange(new Scalar(0), new Scalar(dim), new Scalar(2)).to(ScalarType.Float)
        .div(new Scalar((double) dim));
    return torch.pow(new Scalar(theta), exps).reciprocal();
  }

  /**
   * cos and sin (B, 1, L, headDim) for 1-D positions (B, L).
   *
   * <p>With a dynamic-NTK factor the base grows once the longest sequence passes {@code maxPositions}
   * (transformers' _dynamic_frequency_update: base * (f * len / max - (f - 1))^(d / (d - 2))); below it, plain RoPE.
   */
  public static Tensor[] cosSin(Tensor positionIds, DecoderConfig cfg) {
    long hd = cfg.headDim();
    double theta = cfg.ropeTheta();
    if (cfg.ropeScalingFactor() > 0) {
      long len = positionIds.max().item_long() + 1;
      if (len > cfg.maxPositionEmbeddings()) {
        double f = cfg.ropeScalingFactor();
        theta = theta * Math.pow(f * len / cfg.maxPositionEmbeddings() - (f - 1), (double) hd / (hd - 2));
      }
    }
    Tensor inv = Devices.moved(invFreq(theta, hd), positionIds.device());               // (hd/2)
    Tensor freqs = positionIds.to(ScalarType.Float).unsqueeze(-1).mul(inv);             // (B, L, hd/2)
    Tensor emb = torch.cat(new TensorVector(freqs, freqs), -1).unsqueeze(1);            // (B, 1, L, hd)
    return new Tensor[] {emb.cos(), emb.sin()};
  }

  /**
   * Positions from the attention mask under left padding, with libtorch ops on the mask's device: cumsum(mask) - 1,
   * pads set to 1 (transformers' generate rule, which CONVENTIONS.md applies to every forward pass).
   *
   * @param attentionMask (B, L) 1 for tokens, 0 for padding
   * @return (B, L) int64
   */
  public static Tensor positionsFromMask(Tensor attentionMask) {
    Tensor m = attentionMask.to(ScalarType.Long);
    return m.cumsum(1).sub(new Scalar(1)).masked_fill(m.eq(new Scalar(0)), new Scalar(1));
  }
}
