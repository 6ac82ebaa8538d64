// The machine's copy bandwidth, measured in the same run as the kernels so "time over floor" compares like with like.
package org.vlmr1.bench;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch {@code dst.copy_(src)} of a large float32 buffer on all intra-op threads. Bandwidth counts the bytes read
 * plus the bytes written (STREAM's convention), the same way the kernels' floors count theirs.
 */
final class CopyBandwidth implements Measured {
  static final String ID = "copy";
  private final Tensor src;
  private final Tensor dst;

  static BenchCase benchCase(BenchOptions o) {
    long mib = o.quick() ? 256 : 512;
    return new BenchCase(ID, "copy", "libtorch", "bytes=" + (mib << 20), "f32", () -> new CopyBandwidth(mib << 20));
  }

  private CopyBandwidth(long bytes) {
    src = torch.randn(bytes / 4);
    dst = torch.empty(bytes / 4);
    dst.copy_(src); // fault the pages in before the baseline is taken
  }

  @Override
  public void run() {
    dst.copy_(src);
  }

  @Override
  public long floorBytes() {
    return 2 * src.nbytes();
  }

  @Override
  public double workPerRun() {
    return 2.0 * src.nbytes() / 1e9;
  }

  @Override
  public String unit() {
    return "GB/s";
  }

  @Override
  public void close() {
    src.close();
    dst.close();
  }
}
