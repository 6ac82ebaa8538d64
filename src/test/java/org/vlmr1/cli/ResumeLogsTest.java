// The run's logs after kills and resumes (issue 14): metrics.jsonl, completions.jsonl, the DEBUG_MODE reward traces
// and trainer_state.json's log_history hold exactly one row per logged step, equal to an uninterrupted run's
// (timings aside). A kill is reproduced by its traces on disk: the killed run logged steps its newest checkpoint does
// not hold, maybe ending in a half-written line; then the same command runs again. Before, the resumed run appended
// after the killed run's rows (steps 1, 2, 3, 4, 5, 3, 4, 5) and log_history kept only the resumed run's steps.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.trainer.RunWriter;
import org.vlmr1.util.Json;

class ResumeLogsTest {
  private static Path data;
  private static Path tiny;

  private static void setUp(Path dir) {
    data = dir.resolve("data");
    tiny = dir.resolve("tiny");
    TinyFixture.write(data, 8, 84, 56, tiny);
  }

  private static List<String> args(Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("train", "--model_name_or_path", tiny.toString(), "--data_file_paths",
        data.resolve("data.jsonl").toString(), "--image_folders", data.toString(), "--task_type", "rec",
        "--reward_funcs", "accuracy", "format", "length", "--num_generations", "2", "--per_device_train_batch_size",
        "2", "--max_completion_length", "4", "--max_steps", "5", "--learning_rate", "1e-2", "--seed", "5",
        "--max_pixels", "12544", "--log_completions", "--output_dir", out.toString()));
    a.addAll(List.of(extra));
    return a;
  }

  /** Runs train with DEBUG_MODE on, its reward traces at {@code out}/../{@code out}-debug.txt. */
  private static String train(Path out, String... extra) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("DEBUG_MODE", "true");
    env.put("LOG_PATH", debugLog(out).toString());
    PrintStream oldOut = System.out; // the commands print progress to System.out
    int rc;
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      rc = Main.run(args(out, extra), System.out, new PrintStream(e, true, StandardCharsets.UTF_8), env);
    } finally {
      System.setOut(oldOut);
    }
    String text = o.toString(StandardCharsets.UTF_8);
    assertEquals(0, rc, text + e.toString(StandardCharsets.UTF_8));
    return text;
  }

  private static Path debugLog(Path out) {
    return out.resolveSibling(out.getFileName() + "-debug.txt");
  }

  /** What a SIGKILL after step {@code last}'s logs leaves: checkpoints after {@code keep} gone, a torn last line. */
  private static void killAfter(Path out, int keep) throws Exception {
    for (Path c : RunWriter.checkpoints(out)) {
      if (Integer.parseInt(c.getFileName().toString().substring("checkpoint-".length())) > keep) {
        RunWriter.deleteTree(c);
      }
    }
    Files.writeString(out.resolve("metrics.jsonl"), "{\"step\": 6, \"loss\"", StandardOpenOption.APPEND);
  }

  /** metrics.jsonl without the timing columns, which differ between runs. */
  private static List<Map<String, Object>> metrics(Path out) throws Exception {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
      rows.add(withoutTimings(line));
    }
    return rows;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> withoutTimings(Object row) {
    Map<String, Object> m = new LinkedHashMap<>((Map<String, Object>) (row instanceof String s ? Json.parse(s) : row));
    m.keySet().removeIf(k -> k.startsWith("time/") || k.equals("step_seconds") || k.equals("tokens_per_second"));
    return m;
  }

  /** The reward traces without their time stamps. */
  private static String debugText(Path out) throws Exception {
    return Files.readString(debugLog(out)).replaceAll("------------- \\d\\d-\\d\\d-\\d\\d-\\d\\d-\\d{6} ",
        "------------- T ");
  }

  private static List<Object> logHistory(Path out) throws Exception {
    Map<?, ?> state = (Map<?, ?>) Json.parse(Files.readString(out.resolve("checkpoint-5/trainer_state.json")));
    return ((List<?>) state.get("log_history")).stream().map(ResumeLogsTest::withoutTimings).map(m -> (Object) m)
        .toList();
  }

  private static void assertSameLogs(Path straight, Path resumed) throws Exception {
    List<Map<String, Object>> want = metrics(straight);
    assertEquals(List.of(1, 2, 3, 4, 5), want.stream().map(m -> ((Number) m.get("step")).intValue()).toList());
    assertEquals(want, metrics(resumed), "metrics.jsonl: one row per step, as the uninterrupted run's");
    assertEquals(Files.readAllLines(straight.resolve("completions.jsonl")),
        Files.readAllLines(resumed.resolve("completions.jsonl")), "completions.jsonl");
    assertEquals(debugText(straight), debugText(resumed), "the DEBUG_MODE reward traces");
    assertEquals(logHistory(straight), logHistory(resumed), "log_history over the whole run");
    assertEquals(want, logHistory(straight).stream().map(ResumeLogsTest::withoutTimings).toList());
  }

  @Test
  void killsAndResumesLeaveOneRowPerStep(@TempDir Path dir) throws Exception {
    setUp(dir);
    Path straight = dir.resolve("straight");
    train(straight, "--save_steps", "2");
    Path resumed = dir.resolve("resumed");
    train(resumed, "--save_steps", "2");
    killAfter(resumed, 2); // the logs hold steps 1-5, the newest checkpoint is step 2
    String out = train(resumed, "--save_steps", "2");
    assertTrue(out.contains("resuming from") && out.contains("logs cut back to the checkpoint"), out);
    killAfter(resumed, 4); // a second kill, later
    train(resumed, "--save_steps", "2");
    assertSameLogs(straight, resumed);
    // A run killed before its first checkpoint: the next one starts over, after nothing of the killed run.
    Path fresh = dir.resolve("fresh");
    train(fresh, "--save_steps", "2");
    killAfter(fresh, 0);
    assertFalse(train(fresh, "--save_steps", "2").contains("resuming from"));
    assertSameLogs(straight, fresh);
  }

  /**
   * num_iterations 2: a generation round spans two optimizer steps whose rollouts no checkpoint holds, so saves wait
   * for round ends and a resumed run repeats the uninterrupted one. Before, --save_steps 1 saved inside rounds and
   * the resumed run generated a different round.
   */
  @Test
  void roundsResumeAtTheirBoundaries(@TempDir Path dir) throws Exception {
    setUp(dir);
    Path straight = dir.resolve("straight");
    String first = train(straight, "--save_steps", "1", "--num_iterations", "2");
    assertTrue(first.contains("checkpoints at generation round ends"), first);
    assertEquals(List.of("checkpoint-2", "checkpoint-4", "checkpoint-5"), RunWriter.checkpoints(straight).stream()
        .map(p -> p.getFileName().toString()).toList());
    Path resumed = dir.resolve("resumed");
    train(resumed, "--save_steps", "1", "--num_iterations", "2");
    killAfter(resumed, 3); // the newest checkpoint at or before step 3
    train(resumed, "--save_steps", "1", "--num_iterations", "2");
    assertSameLogs(straight, resumed);
  }
}
