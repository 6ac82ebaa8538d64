// A decode step's layer projections on our read-once C++ kernels (decode_linear.cpp) for float32 CPU operands:
// several projections of one input in one call (q/k/v), and SwiGLU's gate/up fused with silu(gate) * up, with the
// libtorch composite (torch.linear, torch.silu, mul) as oracle and fallback.
package org.vlmr1.kernels;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Projections of a few decode rows. Thread-safe. */
public final class DecodeKernels {
  private DecodeKernels() {}

  /** Most input rows {@link #swiGlu} takes natively (the kernel's per-item scratch is sized for them). */
  public static final long MAX_ROWS = 64;

  /**
   * {@code x W_j^T + b_j} for each of up to three projections of the same input: our kernel, one call for all of
   * them, when {@link #usesNative} holds for x and every weight and bias; else {@code torch.linear} each. Sums run in
   * lm_head_logits' fixed order, so outputs agree with torch.linear to float32 rounding, not bit for bit.
   *
   * @param x (B, in)
   * @param weights 1 to 3 weights (n_j, in) of x's dtype and device
   * @param biases null, or per weight a bias (n_j) or null
   * @return per weight (B, n_j), owned by the caller's PointerScope
   */
  public static Tensor[] projections(Tensor x, Tensor[] weights, Tensor[] biases) {
    int n = weights.length;
    if (n < 1 || n > 3 || (biases != null && biases.length != n)) {
      throw new IllegalArgumentException("decode projections take 1 to 3 weights and as many biases (or null), got "
          + n + " weights and " + (biases == null ? "no" : biases.length) + " biases");
    }
    boolean nat = x.dim() == 2;
    for (int j = 0; j < n; j++) {
      Tensor b = biases == null ? null : biases[j];
      checkWeight(x, weights[j], b);
      nat &= usesNative(x, weights[j]) && (b == null || usesNative(x, b.unsqueeze(1)));
    }
    Tensor[] out = new Tensor[n];
    if (!nat) {
      for (int j = 0; j < n; j++) {
        Tensor b = biases == null ? null : biases[j];
        out[j] = b == null ? torch.linear(x, weights[j]) : torch.linear(x, weights[j], new TensorOptional(b));
      }
      return out;
    }
    Tensor xc = x.contiguous();
    long rows = xc.size(0);
    FloatPointer[] w = new FloatPointer[3];
    FloatPointer[] b = new FloatPointer[3];
    FloatPointer[] o = new FloatPointer[3];
    long[] sizes = new long[3];
    for (int j = 0; j < n; j++) {
      sizes[j] = weights[j].size(0);
      out[j] = torch.empty(new long[] {rows, sizes[j]}, new TensorOptions(ScalarType.Float), null);  // (B, n_j)
      w[j] = weights[j].data_ptr_float();
      b[j] = biases == null || biases[j] == null ? null : biases[j].contiguous().data_ptr_float();
      o[j] = out[j].data_ptr_float();
    }
    if (rows > 0) {
      GrpoNative.decode_projections(xc.data_ptr_float(), rows, xc.size(1), w[0], b[0], sizes[0], o[0], w[1], b[1],
          sizes[1], o[1], w[2], b[2], sizes[2], o[2]);
    }
    return out;
  }

  /**
   * {@code silu(x Wg^T) * (x Wu^T)}: our fused kernel when {@link #usesNative} holds for x and both weights and x
   * has at most {@link #MAX_ROWS} rows, else the composite.
   *
   * @param x (B, in)
   * @param gate, up (n, in) of x's dtype and device
   * @return (B, n), owned by the caller's PointerScope
   */
  public static Tensor swiGlu(Tensor x, Tensor gate, Tensor up) {
    checkWeight(x, gate, null);
    checkWeight(x, up, null);
    if (gate.size(0) != up.size(0)) {
      throw new IllegalArgumentException("SwiGLU gate and up must have the same outputs, got gate "
          + TensorChecks.describe(gate) + " and up " + TensorChecks.describe(up));
    }
    if (x.dim() != 2 || x.size(0) > MAX_ROWS || !usesNative(x, gate) || !usesNative(x, up)) {
      return torch.silu(torch.linear(x, gate)).mul(torch.linear(x, up));                   // (B, n)
    }
    Tensor xc = x.contiguous();
    long rows = xc.size(0);
    Tensor out = torch.empty(new long[] {rows, gate.size(0)}, new TensorOptions(ScalarType.Float), null); // (B, n)
    if (rows > 0) {
      GrpoNative.decode_swiglu(xc.data_ptr_float(), rows, xc.size(1), gate.data_ptr_float(), up.data_ptr_float(),
          gate.size(0), out.data_ptr_float());
    }
    return out;
  }

  /** Whether our kernels take these operands: the same rule as {@link LmHeadKernels#usesNative}. */
  public static boolean usesNative(Tensor x, Tensor weight) {
    return LmHeadKernels.usesNative(x, weight);
  }

  private static void checkWeight(Tensor x, Tensor w, Tensor b) {
    if (x.dim() != 2 || w.dim() != 2 || x.size(1) != w.size(1) || (b != null && (b.dim() != 1
        || b.size(0) != w.size(0)))) {
      throw new IllegalArgumentException("decode projection needs x (B, in), weight (n, in) and bias (n) or none, "
          + "got x " + TensorChecks.describe(x) + ", weight " + TensorChecks.describe(w) + " and bias "
          + (b == null ? "none" : TensorChecks.describe(b)));
    }
  }
}
