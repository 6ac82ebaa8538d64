// sft takes train's data flags (--on_bad_sample, --allow_image_paths_outside_folders), so the loader's advice in its
// errors is true there too; a bad value of --on_bad_sample is a usage error naming the accepted ones.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.BadImageFiles;

class BadDataCommandsTest {
  @Test
  void sftTakesTheDataFlagsItsErrorsRecommend(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Path model = dir.resolve("tiny");
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", data.toString(), "--n", "4", "--width", "84",
        "--height", "56").rc());
    assertEquals(0, ScoreCommandTest.run("init-tiny", "--out", model.toString(), "--hidden_size", "32",
        "--num_layers", "1", "--vision_depth", "1").rc());
    BadImageFiles.png(dir.resolve("outside.png"), 84, 56);
    Files.write(data.resolve("cut.png"), java.util.Arrays.copyOf(BadImageFiles.pngBytes(84, 56, 5), 200));
    Path jsonl = data.resolve("data.jsonl");
    Files.write(jsonl, List.of(
        "{\"image\": \"../outside.png\", \"conversations\": [{\"value\": \"<image>q\"}, "
            + "{\"value\": \"[1, 2, 3, 4]\"}]}",
        "{\"image\": \"cut.png\", \"conversations\": [{\"value\": \"<image>q\"}, {\"value\": \"[1, 2, 3, 4]\"}]}"),
        StandardOpenOption.APPEND);
    List<String> sft = new ArrayList<>(List.of("sft", "--model_name_or_path", model.toString(), "--data_file_paths",
        jsonl.toString(), "--image_folders", data.toString(), "--max_steps", "1", "--per_device_train_batch_size",
        "2", "--max_pixels", "12544", "--output_dir", dir.resolve("sft").toString()));
    ScoreCommandTest.Run r = ScoreCommandTest.run(sft.toArray(String[]::new));
    assertEquals(1, r.rc(), r.out());
    assertTrue(r.err().contains("data.jsonl:5: image path ../outside.png resolves outside the image folder")
        && r.err().contains("--allow_image_paths_outside_folders"), r.err());
    sft.add("--allow_image_paths_outside_folders");
    r = ScoreCommandTest.run(sft.toArray(String[]::new));
    assertEquals(1, r.rc(), r.out());
    assertTrue(r.err().contains("data.jsonl:6: image " + data.resolve("cut.png").toAbsolutePath().normalize()
        + ": truncated PNG") && r.err().contains("--on_bad_sample skip"), r.err());
    sft.addAll(List.of("--on_bad_sample", "skip"));
    r = ScoreCommandTest.run(sft.toArray(String[]::new));
    assertEquals(0, r.rc(), r.err());
    assertTrue(r.out().contains("5 examples (5 images), 1 bad lines skipped") && r.out().contains("skipped "
        + "data.jsonl:6"), r.out());
    sft.set(sft.size() - 1, "ignore");
    r = ScoreCommandTest.run(sft.toArray(String[]::new));
    assertEquals(2, r.rc());
    assertTrue(r.err().contains("--on_bad_sample takes fail or skip, got 'ignore'"), r.err());
  }

  /**
   * Old code: sft on a dataset with no examples (make-synthetic --n 0, or every line skipped) failed with
   * java.util.Random's "bound must be positive", which names neither the data nor the cause.
   */
  @Test
  void sftOnAnEmptyDatasetSaysSo(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Path model = dir.resolve("tiny");
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", data.toString(), "--n", "0").rc());
    assertEquals(0, ScoreCommandTest.run("init-tiny", "--out", model.toString(), "--hidden_size", "32",
        "--num_layers", "1", "--vision_depth", "1").rc());
    ScoreCommandTest.Run r = ScoreCommandTest.run("sft", "--model_name_or_path", model.toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--max_steps", "1", "--output_dir", dir.resolve("sft").toString());
    assertEquals(1, r.rc(), r.err());
    assertTrue(r.err().contains("the dataset has 0 examples: sft needs at least one"), r.err());
    assertTrue(!Files.exists(dir.resolve("sft").resolve("model.safetensors")), "no checkpoint");
    // a step count below 1 names the flag (the old message spoke of "a learning-rate schedule over at least 1 step")
    r = ScoreCommandTest.run("sft", "--model_name_or_path", model.toString(), "--data_file_paths",
        data.resolve("data.jsonl").toString(), "--image_folders", data.toString(), "--max_steps", "0",
        "--output_dir", dir.resolve("sft").toString());
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--max_steps must be >= 1, got 0"), r.err());
  }
}
