// libtorch's archive writer callback (OutputArchive.save_to(ArchiveWriter)): the optimizer state goes to its file
// through Java, hashed on the way, so a checkpoint's manifest need not read optimizer.pt (twice the weights' size under
// AdamW) back after the save.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.ArchiveWriter;
import org.bytedeco.pytorch.OutputArchive;
import org.vlmr1.util.FileDigests;

/** Writes an archive's bytes to a file and records their CRC32C. */
final class HashingArchiveWriter extends ArchiveWriter {
  private final FileChannel out;
  private final FileDigests.Running digest;
  private IOException failure;

  private HashingArchiveWriter(FileChannel out, FileDigests.Running digest) {
    super(); // allocates the native callback
    this.out = out;
    this.digest = digest;
  }

  /** Saves {@code archive} to {@code file} and records the file's digest. */
  static void save(OutputArchive archive, Path file) throws IOException {
    FileDigests.Running digest = new FileDigests.Running();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE); HashingArchiveWriter w = new HashingArchiveWriter(ch, digest)) {
      archive.save_to(w);
      if (w.failure != null) {
        throw w.failure;
      }
    } catch (RuntimeException e) {
      throw new IOException("cannot write " + file + ": " + e.getMessage(), e);
    }
    digest.recordFor(file);
  }

  /**
   * Called by libtorch with each chunk; returns the bytes written (fewer makes libtorch fail the save, which is how an
   * I/O error gets out of the callback).
   */
  @Override
  public long call(Pointer data, long n) {
    if (failure != null) {
      return 0;
    }
    try {
      ByteBuffer bytes = new BytePointer(data).capacity(n).asByteBuffer();
      digest.update(bytes);
      while (bytes.hasRemaining()) {
        out.write(bytes);
      }
      return n;
    } catch (IOException e) {
      failure = e;
      return 0;
    }
  }
}
