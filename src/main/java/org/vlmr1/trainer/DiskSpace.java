// The free-space check before a checkpoint is written. A disk that fills up inside libtorch's archive writer aborts
// the JVM ("[enforce fail at inline_container.cc:668]", exit 134), which Java cannot catch, and leaves the temporary
// folder behind; so a save whose tensors cannot fit is refused before its first byte, with the earlier checkpoints
// kept. The estimate cannot see other writers: a disk that fills up during the write can still abort.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.distributed.Collectives;

/** Compares a folder's usable space with what a checkpoint needs. */
public final class DiskSpace {
  /**
   * The margin over the tensor bytes, 5% + 16 MiB: the side files copied with the weights (Qwen's tokenizer.json is
   * 11 MB), the JSON state, the archive and safetensors headers, and metrics written meanwhile.
   */
  static final double MARGIN_FRACTION = 0.05;
  static final long MARGIN_BYTES = 16L << 20;

  private DiskSpace() {}

  /** A folder's usable bytes: the file store's, or a test's. */
  @FunctionalInterface
  public interface FreeSpace {
    long usableBytes(Path dir) throws IOException;
  }

  public static final FreeSpace FILE_STORE = dir -> Files.getFileStore(dir).getUsableSpace();

  /** Thrown before a save that would not fit; nothing of that save was written. */
  public static final class NoSpaceException extends IOException {
    NoSpaceException(String message) {
      super(message);
    }
  }

  /** The bytes a checkpoint of {@code tensorBytes} tensor bytes needs, margin included. */
  public static long needed(long tensorBytes) {
    return tensorBytes + (long) Math.ceil(tensorBytes * MARGIN_FRACTION) + MARGIN_BYTES;
  }

  /**
   * Throws when {@code dir} has less usable space than the checkpoint of {@code step} needs.
   *
   * @param tensorBytes every tensor byte the save writes ({@link GrpoTrainer#checkpointTensorBytes})
   * @param alreadyWritten bytes of it already on that disk (the ZeRO-1 optimizer shards the ranks wrote first)
   */
  public static void require(Path dir, long tensorBytes, long alreadyWritten, int step, FreeSpace fs)
      throws IOException {
    long need = Math.max(0, needed(tensorBytes) - alreadyWritten);
    long free = fs.usableBytes(dir);
    if (free < need) {
      throw new NoSpaceException("no space left on device: " + dir.toAbsolutePath() + " has " + free + " bytes "
          + "free, the checkpoint of step " + step + " needs " + need + " (" + tensorBytes + " tensor bytes + 5% + "
          + "16 MiB); nothing of it was written and the earlier checkpoints are kept: free space and resume, or "
          + "choose another --output_dir");
    }
  }

  /**
   * {@link #require} on every rank of a data-parallel run before any of them writes an optimizer shard; all ranks
   * agree (a sum of refusals), so none waits at the checkpoint barrier for a rank that stopped.
   */
  public static void requireOnEveryRank(Path dir, long tensorBytes, int step, Collectives dist) throws IOException {
    NoSpaceException mine = null;
    try {
      require(dir, tensorBytes, 0, step, FILE_STORE);
    } catch (NoSpaceException e) {
      mine = e;
    }
    if (dist.worldSize() > 1) {
      double refusals;
      try (PointerScope s = new PointerScope()) {
        Tensor t = torch.empty(new long[] {1}, new TensorOptions(torch.ScalarType.Double), null);
        t.data_ptr_double().put(mine != null ? 1.0 : 0.0);
        dist.allReduceSum(t, "the free-space check before step " + step + "'s checkpoint");
        refusals = t.data_ptr_double().get();
      }
      if (mine == null && refusals > 0) {
        throw new NoSpaceException("no space left on device: another rank found too little free space in "
            + dir.toAbsolutePath() + " for the checkpoint of step " + step + "; the earlier checkpoints are kept");
      }
    }
    if (mine != null) {
      throw mine;
    }
  }
}
