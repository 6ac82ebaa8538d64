// Building blocks shared by the model families, written to round exactly as transformers' modules do in float32
// (Qwen2RMSNorm's upcast, rotate_half, SwiGLU).
package org.vlmr1.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.LmHeadKernels;

/** Stateless layer functions over libtorch tensors. */
public final class Layers {
  private Layers() {}

  /** Qwen2RMSNorm: float32 x * rsqrt(mean(x^2) + eps), cast back, times the weight. */
  public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
    ScalarType dt = x.scalar_type().intern();
    Tensor xf = x.to(ScalarType.Float);
    Tensor var = xf.pow(new Scalar(2)).mean(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional());
    Tensor normed = xf.mul(torch.rsqrt(var.add(new Scalar(eps))));
    return weight.mul(normed.to(dt));
  }

  /** Most rows a decode step's projections send through our small-batch kernel. */
  static final long DECODE_ROWS = 64;

  /**
   * x W^T + b (b may be null). A decode step's input, (B, 1, in) with few rows and no gradient, goes through our
   * kernel that reads W once ({@link LmHeadKernels}: OpenBLAS re-packs the whole weight at every call, which at a
   * handful of rows costs more than the product); everything else through torch.linear.
   */
  public static Tensor linear(Tensor x, Tensor w, Tensor b) {
    if (decodeRows(x, new Tensor[] {w}, new Tensor[] {b})) {
      Tensor y = LmHeadKernels.logits(x.select(1, 0), w).unsqueeze(1);                       // (B, 1, out)
      return b == null ? y : y.add(b);
    }
    return b == null ? torch.linear(x, w) : torch.linear(x, w, new TensorOptional(b));
  }

  /**
   * Whether x (B, 1, in) is a decode step's input that {@link #linear} sends through our kernel with each of these
   * weights and biases (biases may be null, or hold nulls): few rows, float32 CPU operands, no gradient wanted.
   */
  static boolean decodeRows(Tensor x, Tensor[] weights, Tensor[] biases) {
    if (x.dim() != 3 || x.size(1) != 1 || x.size(0) > DECODE_ROWS) {
      return false;
    }
    for (int j = 0; j < weights.length; j++) {
      Tensor b = biases == null ? null : biases[j];
      if (!LmHeadKernels.usesNative(x, weights[j]) || (b != null && b.requires_grad())) {
        return false;
      }
    }
    return true;
  }

  /** [-x2, x1] of the two halves of the last dimension. */
  public static Tensor rotateHalf(Tensor x) {
    long d = x.size(-1);
    Tensor x1 = x.narrow(-1, 0, d / 2);
    Tensor x2 = x.narrow(-1, d / 2, d / 2);
    return torch.cat(new org.bytedeco.pytorch.TensorVector(x2.neg(), x1), -1);
  }

  /** down(silu(gate(x)) * up(x)), biases optional (null). */
  public static Tensor swiGlu(Tensor x, Tensor wg, Tensor bg, Tensor wu, Tensor bu, Tensor wd, Tensor bd) {
    return linear(torch.silu(linear(x, wg, bg)).mul(linear(x, wu, bu)), wd, bd);
  }
}
