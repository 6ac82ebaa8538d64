// The large checkpoint files are hashed while they are written (issue 14: "a CRC32C computed while writing"): the
// safetensors writer and optimizer.pt's archive writer leave their digests, and the manifest reads back only the files
// nobody hashed. Before, the manifest read every file of the checkpoint back after the save.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.SafeTensorsWriter;

class HashedWritesTest {
  @BeforeAll
  static void load() {
    TorchRuntime.load();
  }

  @Test
  void theManifestTakesTheDigestsOfHashedWrites(@TempDir Path dir) throws Exception {
    long seed = System.nanoTime();
    System.out.println("seed " + seed);
    torch.manual_seed(seed);
    Path c = dir.resolve(".tmp-checkpoint-1");
    Files.createDirectories(c);
    try (PointerScope s = new PointerScope()) {
      Tensor w = torch.randn(300, 200);                                                        // 240 kB
      Tensor m = torch.randn(500, 300);
      SafeTensorsWriter.write(c.resolve("model.safetensors"), Map.of("w", w));
      OutputArchive oa = new OutputArchive();
      oa.write("m", m);
      HashingArchiveWriter.save(oa, c.resolve("optimizer.pt"));
      Files.writeString(c.resolve("trainer_state.json"), "{\"global_step\": 1}");
      long readBack = CheckpointManifest.writeCountingReadBack(c);
      assertEquals(Files.size(c.resolve("trainer_state.json")), readBack, "only the unhashed JSON is read back");
      assertEquals(CheckpointManifest.Status.VERIFIED, CheckpointManifest.verify(c).status());
      // The archive written through the callback is a valid libtorch archive.
      InputArchive ia = new InputArchive();
      ia.load_from(c.resolve("optimizer.pt").toString());
      Tensor back = new Tensor();
      ia.read("m", back);
      assertTrue(torch.equal(m, back));
    }
    // The recorded digests are the files' real ones: one changed byte fails verification.
    try (RandomAccessFile f = new RandomAccessFile(c.resolve("optimizer.pt").toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 1);
    }
    CheckpointManifest.Verdict v = CheckpointManifest.verify(c);
    assertEquals(CheckpointManifest.Status.FAILED, v.status());
    assertTrue(v.reason().contains("optimizer.pt has CRC32C"), v.reason());
  }
}
