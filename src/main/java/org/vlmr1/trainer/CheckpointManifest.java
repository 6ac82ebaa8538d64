// vlmr1_manifest.json: each checkpoint file's size and CRC32C, written last into the temporary folder before the
// rename, and checked before a resume trusts the checkpoint (a truncated optimizer.pt otherwise ends the resume inside
// libtorch with "PytorchStreamReader failed reading zip archive"). The large files are hashed while they are written
// (the safetensors writer and optimizer.pt's archive writer leave their digests in FileDigests); the rest (configs,
// tokenizer files copied from the source, the JSON states, ZeRO-1 shards moved in from other ranks) are read back once
// the checkpoint's files are complete.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.vlmr1.util.FileDigests;
import org.vlmr1.util.Json;

/** Writes and verifies a checkpoint's manifest. */
final class CheckpointManifest {
  static final String FILE = "vlmr1_manifest.json";

  private CheckpointManifest() {}

  /** How a checkpoint fared: verified, written before manifests existed, or failed with {@code reason}. */
  enum Status { VERIFIED, NO_MANIFEST, FAILED }

  record Verdict(Status status, String reason) {
    static final Verdict OK = new Verdict(Status.VERIFIED, "");
  }

  /** Lists every file under {@code dir} (relative names with '/') with its size and CRC32C, in {@link #FILE}. */
  static void write(Path dir) throws IOException {
    writeCountingReadBack(dir);
  }

  /** {@link #write}; returns how many bytes it had to read back (files nobody hashed while writing). */
  static long writeCountingReadBack(Path dir) throws IOException {
    long readBack = 0;
    Map<String, Object> files = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
        String name = dir.relativize(p).toString().replace('\\', '/');
        if (!name.equals(FILE)) {
          Map<String, Object> e = new LinkedHashMap<>();
          long size = Files.size(p);
          FileDigests.Digest written = FileDigests.take(p);
          e.put("size", size);
          if (written != null) {
            e.put("crc32c", String.format("%08x", written.crc32c()));
          } else {
            e.put("crc32c", crc32c(p));
            readBack += size;
          }
          files.put(name, e);
        }
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("format", 1);
    m.put("files", files);
    Json.writeFile(dir.resolve(FILE), m);
    return readBack;
  }

  /** Checks every file the manifest lists: present, of its size, with its CRC32C (sizes first: they are cheap). */
  static Verdict verify(Path dir) {
    Path mf = dir.resolve(FILE);
    if (!Files.exists(mf)) {
      return new Verdict(Status.NO_MANIFEST, "it has no " + FILE + " (written before vlmr1 kept one)");
    }
    Map<String, long[]> expected = new TreeMap<>();
    try {
      Object files = Json.readObject(mf).get("files");
      if (!(files instanceof Map<?, ?> fm)) {
        return failed(FILE + " lists no files");
      }
      for (Map.Entry<?, ?> e : fm.entrySet()) {
        Map<?, ?> v = (Map<?, ?>) e.getValue();
        expected.put((String) e.getKey(), new long[] {((Number) v.get("size")).longValue(),
            Long.parseLong((String) v.get("crc32c"), 16)});
      }
    } catch (IOException e) {
      return failed(e.getMessage());
    } catch (ClassCastException | NullPointerException | NumberFormatException e) {
      return failed(FILE + " is not a vlmr1 manifest (files: name -> {size, crc32c})");
    }
    for (Map.Entry<String, long[]> e : expected.entrySet()) {
      Path p = dir.resolve(e.getKey());
      if (!Files.isRegularFile(p)) {
        return failed(e.getKey() + " is missing");
      }
      try {
        long size = Files.size(p);
        if (size != e.getValue()[0]) {
          return failed(e.getKey() + " is " + size + " bytes, " + FILE + " says " + e.getValue()[0]);
        }
      } catch (IOException x) {
        return failed(e.getKey() + " cannot be read (" + x.getMessage() + ")");
      }
    }
    for (Map.Entry<String, long[]> e : expected.entrySet()) {
      try {
        String crc = crc32c(dir.resolve(e.getKey()));
        if (Long.parseLong(crc, 16) != e.getValue()[1]) {
          return failed(e.getKey() + " has CRC32C " + crc + ", " + FILE + " says "
              + String.format("%08x", e.getValue()[1]) + " (its bytes changed after the save)");
        }
      } catch (IOException x) {
        return failed(e.getKey() + " cannot be read (" + x.getMessage() + ")");
      }
    }
    return Verdict.OK;
  }

  private static Verdict failed(String reason) {
    return new Verdict(Status.FAILED, reason);
  }

  /** The CRC32C of a file's bytes, as 8 hex digits. */
  static String crc32c(Path file) throws IOException {
    CRC32C crc = new CRC32C();
    ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      while (ch.read(buf) >= 0) {
        buf.flip();
        crc.update(buf);
        buf.clear();
      }
    }
    return String.format("%08x", crc.getValue());
  }
}
