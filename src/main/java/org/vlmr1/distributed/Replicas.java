// Debug check for data-parallel runs: every rank must hold bit-identical parameters after each step (same reduced
// gradients, same optimizer). Each rank's CRC-32 of the parameters' bytes is gathered and compared.
package org.vlmr1.distributed;

import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Replica consistency checks. */
public final class Replicas {
  private static final long CHUNK = 64 << 20;

  private Replicas() {}

  /** Fails on every rank, naming each rank's checksum, when the parameters differ between ranks. */
  public static void checkIdentical(List<Tensor> params, Collectives dist, String when) {
    if (dist.worldSize() == 1) {
      return;
    }
    CRC32 crc = new CRC32();
    try (PointerScope s = new PointerScope()) {
      for (Tensor p : params) {
        Tensor c = org.vlmr1.kernels.Devices.host(p.detach()).contiguous();
        // Chunked views of the native memory: no heap copy, and no int size (a parameter may exceed 2 GiB).
        for (long pos = 0; pos < c.nbytes(); pos += CHUNK) {
          long end = Math.min(c.nbytes(), pos + CHUNK);
          crc.update(new BytePointer(c.data_ptr()).getPointer(pos).capacity(end - pos).asByteBuffer());
        }
      }
      double[] mine = new double[dist.worldSize()];
      mine[dist.rank()] = crc.getValue(); // < 2^32: exact in float64
      Tensor t = torch.empty(new long[] {mine.length}, new TensorOptions(torch.ScalarType.Double), null);
      t.data_ptr_double().put(mine);
      dist.allReduceSum(t, "the replica check");
      double[] all = new double[mine.length];
      t.contiguous().data_ptr_double().get(all);
      for (double v : all) {
        if (v != all[0]) {
          throw new IllegalStateException("parameters differ across ranks " + when + ": CRC-32 per rank "
              + Arrays.toString(Arrays.stream(all).mapToLong(x -> (long) x).toArray()));
        }
      }
    }
  }
}
