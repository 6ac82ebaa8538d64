// A decoder MLP projection (x @ W^T, Qwen2.5-VL-3B's gate/up: 2048 -> 11008) in f32 and bf16 side by side, to choose
// the CPU compute dtype: libtorch's bf16 matmul is far slower than f32 on CPUs without native bf16 units (AVX2 only)
// and faster on those with AVX512-BF16/AMX, so the choice is measured on the machine, not assumed.
package org.vlmr1.bench;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** One linear layer, forward only, through libtorch's at::linear. */
final class LinearRow implements Measured {
  private final long n;
  private final long in;
  private final long out;
  private final Tensor x; // (N, IN)
  private final Tensor w; // (OUT, IN)

  LinearRow(long n, long in, long out, String dtype) {
    this.n = n;
    this.in = in;
    this.out = out;
    this.x = torch.randn(n, in).to(KernelsSuite.scalarType(dtype));
    this.w = torch.randn(out, in).mul(new Scalar(0.02)).to(KernelsSuite.scalarType(dtype));
  }

  @Override
  public void run() {
    try (PointerScope s = new PointerScope()) {
      torch.linear(x, w);                                                                   // (N, OUT)
    }
  }

  @Override
  public double workPerRun() {
    return 2.0 * n * in * out / 1e9;
  }

  @Override
  public String unit() {
    return "GFLOP/s";
  }

  @Override
  public void close() {
    x.close();
    w.close();
  }
}
