// A run stopped during a save leaves its temporary folders; the next start deletes them before anything else is
// written, keeps every checkpoint, and resume still picks the newest complete checkpoint, never a temporary folder.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunWriterTemporaryFoldersTest {

  private static Path checkpoint(Path run, String name, boolean complete) throws Exception {
    Path c = Files.createDirectories(run.resolve(name));
    Files.writeString(c.resolve("model.safetensors"), "weights");
    if (complete) {
      Files.writeString(c.resolve(TrainerCheckpoint.RESUME_STATE), "{}");
    }
    return c;
  }

  @Test
  void theNextStartDeletesWhatAnInterruptedSaveLeft(@TempDir Path run) throws Exception {
    Path done = checkpoint(run, "checkpoint-2", true);
    Path incomplete = checkpoint(run, "checkpoint-3", false);
    // A stop in the middle of saving step 4: the temporary checkpoint even has its resume state already.
    Path tmp = checkpoint(run, ".tmp-checkpoint-4", true);
    Files.createDirectories(tmp.resolve("nested"));
    Path shards = Files.createDirectories(run.resolve(".tmp-shards-4"));
    Files.writeString(shards.resolve("optimizer-rank1.pt"), "shard");
    Files.writeString(run.resolve("metrics.jsonl"), "{\"step\": 1}\n");

    assertEquals(done, RunWriter.latestCheckpoint(run), "resume never picks a temporary folder");
    new RunWriter(run);

    assertFalse(Files.exists(tmp));
    assertFalse(Files.exists(shards));
    assertTrue(Files.isDirectory(done) && Files.isDirectory(incomplete), "checkpoints are kept");
    assertTrue(Files.isRegularFile(run.resolve("metrics.jsonl")));
    assertEquals(done, RunWriter.latestCheckpoint(run));
    assertEquals(List.of(), RunWriter.deleteTemporaryFolders(run), "nothing left to delete");
  }

  @Test
  void aFreshFolderIsCreated(@TempDir Path dir) throws Exception {
    Path run = dir.resolve("new/run");
    new RunWriter(run);
    assertTrue(Files.isDirectory(run));
  }
}
