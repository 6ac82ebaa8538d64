// Checkpoint verification: the manifest's sizes and CRC32Cs catch a truncated or altered file; an automatic resume
// falls back to the newest checkpoint that verifies and says which it skipped and why.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointManifestTest {

  /** A complete checkpoint-<step> of random files, with its manifest. */
  private static Path checkpoint(Path run, int step, Random rnd) throws IOException {
    Path c = run.resolve("checkpoint-" + step);
    Files.createDirectories(c);
    for (String f : List.of("model.safetensors", "optimizer.pt", TrainerCheckpoint.RESUME_STATE)) {
      byte[] b = new byte[1000 + rnd.nextInt(5000)];
      rnd.nextBytes(b);
      Files.write(c.resolve(f), b);
    }
    CheckpointManifest.write(c);
    return c;
  }

  @Test
  void detectsTruncationAndChangedBytes(@TempDir Path dir) throws Exception {
    long seed = System.nanoTime();
    System.out.println("seed " + seed);
    Random rnd = new Random(seed);
    Path c = checkpoint(dir, 1, rnd);
    assertEquals(CheckpointManifest.Status.VERIFIED, CheckpointManifest.verify(c).status());
    byte[] opt = Files.readAllBytes(c.resolve("optimizer.pt"));
    CRC32C crc = new CRC32C();
    crc.update(opt);
    assertEquals(String.format("%08x", crc.getValue()), CheckpointManifest.crc32c(c.resolve("optimizer.pt")));

    int flip = rnd.nextInt(opt.length);
    try (RandomAccessFile f = new RandomAccessFile(c.resolve("optimizer.pt").toFile(), "rw")) {
      f.seek(flip);
      f.write(opt[flip] ^ 0x10);
    }
    CheckpointManifest.Verdict v = CheckpointManifest.verify(c);
    assertEquals(CheckpointManifest.Status.FAILED, v.status());
    assertTrue(v.reason().startsWith("optimizer.pt has CRC32C "), v.reason());

    try (RandomAccessFile f = new RandomAccessFile(c.resolve("optimizer.pt").toFile(), "rw")) {
      f.setLength(opt.length / 2);
    }
    v = CheckpointManifest.verify(c);
    assertEquals("optimizer.pt is " + opt.length / 2 + " bytes, vlmr1_manifest.json says " + opt.length, v.reason());

    Files.delete(c.resolve("optimizer.pt"));
    assertEquals("optimizer.pt is missing", CheckpointManifest.verify(c).reason());

    Files.delete(c.resolve(CheckpointManifest.FILE));
    assertEquals(CheckpointManifest.Status.NO_MANIFEST, CheckpointManifest.verify(c).status());
    Files.writeString(c.resolve(CheckpointManifest.FILE), "{\"files\": ");
    v = CheckpointManifest.verify(c);
    assertEquals(CheckpointManifest.Status.FAILED, v.status());
    assertTrue(v.reason().contains("is not valid JSON"), v.reason());
  }

  @Test
  void resumeFallsBackToTheNewestCheckpointThatVerifies(@TempDir Path run) throws Exception {
    Random rnd = new Random(7);
    checkpoint(run, 1, rnd);
    Path two = checkpoint(run, 2, rnd);
    Path three = checkpoint(run, 3, rnd);
    Files.createDirectories(run.resolve("checkpoint-4")); // incomplete: no resume state, ignored as before
    long size = Files.size(three.resolve("optimizer.pt"));
    try (RandomAccessFile f = new RandomAccessFile(three.resolve("optimizer.pt").toFile(), "rw")) {
      f.setLength(size - 1);
    }
    List<String> said = new ArrayList<>();
    assertEquals(two, RunWriter.resumableCheckpoint(run, said::add));
    assertEquals(List.of("checkpoint-3 skipped: optimizer.pt is " + (size - 1) + " bytes, vlmr1_manifest.json says "
        + size), said);

    // An older vlmr1's checkpoint (no manifest) is used, with a note.
    Files.delete(two.resolve(CheckpointManifest.FILE));
    said.clear();
    assertEquals(two, RunWriter.resumableCheckpoint(run, said::add));
    assertTrue(said.get(1).startsWith("checkpoint-2 not verified: it has no vlmr1_manifest.json"), said.toString());

    // None verifies: an error, not a silent start at step 0 over the old run.
    Files.write(two.resolve(CheckpointManifest.FILE), new byte[] {'{'});
    Files.delete(run.resolve("checkpoint-1/model.safetensors"));
    IOException e = assertThrows(IOException.class, () -> RunWriter.resumableCheckpoint(run, s -> { }));
    assertTrue(e.getMessage().contains("no checkpoint in") && e.getMessage().contains("checkpoint-1 skipped: "
        + "model.safetensors is missing"), e.getMessage());
  }
}
