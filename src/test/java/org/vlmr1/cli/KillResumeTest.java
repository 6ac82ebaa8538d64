// The resume guarantee end to end: a `train` process killed with SIGKILL mid-run and started again continues
// from its newest complete checkpoint and ends with the same rewards, losses and parameters as an uninterrupted run
// with the same seed.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.util.Json;

@Tag("slow")
class KillResumeTest {

  static List<String> args(Path dir, Path out) {
    return List.of("train", "--model_name_or_path", dir.resolve("tiny").toString(), "--data_file_paths",
        dir.resolve("data/data.jsonl").toString(), "--image_folders", dir.resolve("data").toString(), "--task_type",
        "rec", "--reward_funcs", "length", "--num_generations", "2", "--per_device_train_batch_size", "4",
        "--max_completion_length", "8", "--max_steps", "5", "--learning_rate", "1e-2", "--beta", "0.04", "--seed",
        "11", "--max_pixels", "12544", "--save_steps", "1", "--output_dir", out.toString());
  }

  /** The last metrics line of each step (a step redone after the kill appears twice). */
  @SuppressWarnings("unchecked")
  static Map<Integer, Map<String, Object>> byStep(Path out) throws Exception {
    Map<Integer, Map<String, Object>> m = new TreeMap<>();
    for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
      if (line.isBlank()) {
        continue;
      }
      Map<String, Object> row = (Map<String, Object>) Json.parse(line);
      m.put(((Number) row.get("step")).intValue(), row);
    }
    return m;
  }

  @Test
  void sigkillAndResumeMatchAnUninterruptedRun(@TempDir Path dir) throws Exception {
    TinyFixture.write(dir.resolve("data"), 12, 84, 56, dir.resolve("tiny"));
    Path straight = dir.resolve("straight");
    ScoreCommandTest.Run a = ScoreCommandTest.run(args(dir, straight).toArray(String[]::new));
    assertEquals(0, a.rc(), a.err());

    Path killed = dir.resolve("killed");
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-Xmx2g",
        "-cp", System.getProperty("java.class.path"), "org.vlmr1.cli.Main"));
    cmd.addAll(args(dir, killed));
    Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (!Files.isRegularFile(killed.resolve("checkpoint-2/resume_state.json"))) {
        assertTrue(System.nanoTime() < deadline && p.isAlive(), "the first run reached checkpoint-2");
        Thread.sleep(50);
      }
      p.destroyForcibly(); // SIGKILL: no shutdown hooks, possibly in the middle of step 3 or of its checkpoint
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    } finally {
      p.destroyForcibly();
    }
    ScoreCommandTest.Run b = ScoreCommandTest.run(args(dir, killed).toArray(String[]::new));
    assertEquals(0, b.rc(), b.err());
    assertTrue(b.out().contains("resuming from"), b.out());

    Map<Integer, Map<String, Object>> x = byStep(straight);
    Map<Integer, Map<String, Object>> y = byStep(killed);
    assertEquals(x.keySet(), y.keySet());
    for (int step : x.keySet()) {
      for (String k : new String[] {"reward", "rewards/length", "loss", "kl", "grad_norm", "completion_length"}) {
        assertEquals(x.get(step).get(k), y.get(step).get(k), "step " + step + " " + k);
      }
    }
    SafeTensorsFile pa = SafeTensorsFile.open(straight.resolve("checkpoint-5/model.safetensors"));
    SafeTensorsFile pb = SafeTensorsFile.open(killed.resolve("checkpoint-5/model.safetensors"));
    for (String k : pa.entries().keySet()) {
      assertTrue(java.util.Arrays.equals(pa.floats(k), pb.floats(k)), k + " equal bit for bit");
    }
  }

  /**
   * Old code: every resume printed libtorch's "Warning: Optimizer::parameters() will be removed in PyTorch 1.6" to
   * stderr (TrainerCheckpoint read the optimizer's parameters through the deprecated call), which a user takes for a
   * problem with the checkpoint. libtorch writes it to the process's stderr, so the resume runs in its own JVM.
   */
  @Test
  void resumingPrintsNoLibtorchDeprecationWarning(@TempDir Path dir) throws Exception {
    TinyFixture.write(dir.resolve("data"), 4, 84, 56, dir.resolve("tiny"));
    Path run = dir.resolve("run");
    List<String> train = new ArrayList<>(List.of("train", "--model_name_or_path", dir.resolve("tiny").toString(),
        "--data_file_paths", dir.resolve("data/data.jsonl").toString(), "--image_folders",
        dir.resolve("data").toString(), "--num_generations", "2", "--per_device_train_batch_size", "2",
        "--max_completion_length", "4", "--max_pixels", "12544", "--save_steps", "1", "--output_dir", run.toString(),
        "--max_steps"));
    List<String> first = new ArrayList<>(train);
    first.add("1");
    ScoreCommandTest.Run a = ScoreCommandTest.run(first.toArray(String[]::new));
    assertEquals(0, a.rc(), a.err());
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-Xmx2g",
        "-cp", System.getProperty("java.class.path"), "org.vlmr1.cli.Main"));
    cmd.addAll(train);
    cmd.add("2");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("resuming from " + run.resolve("checkpoint-1")), out);
    assertTrue(!out.contains("Optimizer::parameters()"), out);
  }
}
