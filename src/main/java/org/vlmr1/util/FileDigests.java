// CRC32C of files computed while they are written, for checkpoint manifests: a writer that streams a file's bytes
// hashes them on the way (no second read of a checkpoint that may be hundreds of GB) and leaves the digest here; the
// manifest takes it for that file if the file still has the size written, and reads back only files nobody hashed.
package org.vlmr1.util;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/** The digests of files written by this process, by absolute path, until a manifest takes them. */
public final class FileDigests {
  /** A file's length, CRC32C and modification time as written. */
  public record Digest(long size, long crc32c, FileTime modified) {}

  private static final Map<Path, Digest> WRITTEN = new ConcurrentHashMap<>();

  private FileDigests() {}

  /** Records what was written to the closed {@code file} (replacing an earlier digest of the same path). */
  public static void record(Path file, long size, long crc32c) throws IOException {
    WRITTEN.put(key(file), new Digest(size, crc32c, Files.getLastModifiedTime(file)));
  }

  /**
   * Removes and returns the digest written for {@code file}, or null when nothing hashed it or the file changed
   * since (another size or modification time: rewritten by something that did not hash it).
   */
  public static Digest take(Path file) throws IOException {
    Digest d = WRITTEN.remove(key(file));
    return d != null && Files.isRegularFile(file) && d.size() == Files.size(file)
        && d.modified().equals(Files.getLastModifiedTime(file)) ? d : null;
  }

  private static Path key(Path file) {
    return file.toAbsolutePath().normalize();
  }

  /** An output stream that hashes and counts what passes through it; {@link #close} records the file's digest. */
  public static OutputStream hashing(OutputStream out, Path file) {
    return new FilterOutputStream(out) {
      private final CRC32C crc = new CRC32C();
      private long size;

      @Override
      public void write(int b) throws IOException {
        out.write(b);
        crc.update(b);
        size++;
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        crc.update(b, off, len);
        size += len;
      }

      @Override
      public void close() throws IOException {
        super.close();
        record(file, size, crc.getValue());
      }
    };
  }

  /** A running CRC32C and length over buffers, for writers that are not streams (libtorch's archive writer). */
  public static final class Running {
    private final CRC32C crc = new CRC32C();
    private long size;

    /** Hashes the buffer's remaining bytes without moving its position. */
    public void update(ByteBuffer bytes) {
      size += bytes.remaining();
      crc.update(bytes.duplicate());
    }

    /** Records the digest of the closed {@code file}. */
    public void recordFor(Path file) throws IOException {
      record(file, size, crc.getValue());
    }
  }
}
