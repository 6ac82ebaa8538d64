// VLM-R1's DEBUG_MODE trace: the exact lines grpo_jsonl.py's accuracy_reward and format_reward append to LOG_PATH and
// its "_format.txt" twin, the environment switch, and blocks that stay whole when batches are scored concurrently.
package org.vlmr1.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RewardDebugLogTest {
  static final Clock FIXED = Clock.fixed(LocalDateTime.of(2025, 3, 7, 14, 3, 59, 123_456_789)
      .toInstant(ZoneOffset.UTC), ZoneOffset.UTC);

  static RewardSample sample(String id, String completion, String solution, String problem, List<Path> images,
      String method) {
    return new RewardSample(id, completion, solution, problem, images, List.of(), method, Map.of());
  }

  @Test
  void theEnvironmentSwitchIsVlmR1s(@TempDir Path dir) {
    String log = dir.resolve("debug_log.txt").toString();
    assertFalse(RewardDebugLog.fromEnvironment(Map.of("LOG_PATH", log)).enabled());
    assertFalse(RewardDebugLog.fromEnvironment(Map.of("DEBUG_MODE", "True", "LOG_PATH", log)).enabled(),
        "os.getenv('DEBUG_MODE') == 'true' is case-sensitive");
    RewardDebugLog on = RewardDebugLog.fromEnvironment(Map.of("DEBUG_MODE", "true", "LOG_PATH", log));
    assertEquals(Path.of(log), on.accuracyLog());
    assertEquals(dir.resolve("debug_log_format.txt"), on.formatLog());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RewardDebugLog.fromEnvironment(Map.of("DEBUG_MODE", "true")));
    assertTrue(e.getMessage().contains("LOG_PATH"), e.getMessage());
    // log_path.replace(".txt", "_format.txt"): without ".txt" both traces share the file.
    RewardDebugLog plain = RewardDebugLog.to(dir.resolve("trace.log").toString(), FIXED);
    assertEquals(plain.accuracyLog(), plain.formatLog());
  }

  @Test
  void accuracyAndFormatLinesAreVlmR1s(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("log/debug_log.2025.txt"); // the folder does not exist yet
    RewardDebugLog trace = RewardDebugLog.to(log.toString(), FIXED);
    Path img = dir.resolve("it's.png");
    List<RewardSample> batch = List.of(
        sample("1", "<think>t</think> <answer>cat</answer>", "<answer> cats </answer>", "What animal?",
            List.of(img, dir.resolve("b.jpg")), "default"),
        sample("2", "<answer>7</answer>\n", "<answer> 7 </answer>", null, List.of(), null));
    try (RewardScorer scorer = new RewardScorer(List.of(new AccuracyReward(null, trace), new FormatReward(trace)),
        null, 2)) {
      scorer.score(batch);
    }
    String time = "07-14-03-59-123456"; // %d-%H-%M-%S-%f in the clock's zone; %f truncates to microseconds
    // ratio("cat", "cats") is 1 - 1/7 = 0.8571428571428572 in python-Levenshtein (see PythonParityTest)
    assertEquals("------------- " + time + " Accuracy reward: 0.8571428571428572 -------------\n"
        + "accu_reward_method: default\n"
        + "image_path: [\"" + img + "\", '" + dir.resolve("b.jpg") + "']\n"
        + "problem: What animal?\n"
        + "Content: <think>t</think> <answer>cat</answer>\n"
        + "Solution: <answer> cats </answer>\n"
        + "------------- " + time + " Accuracy reward: 1.0 -------------\n"
        + "accu_reward_method: default\n"
        + "image_path: None\n"
        + "problem: None\n"
        + "Content: <answer>7</answer>\n\n"
        + "Solution: <answer> 7 </answer>\n", Files.readString(log));
    assertEquals("------------- " + time + " Format reward -------------\n"
        + "Content: <think>t</think> <answer>cat</answer>\n"
        + "Has format: True\n"
        + "Content: <answer>7</answer>\n\n"
        + "Has format: False\n", Files.readString(dir.resolve("log/debug_log.2025_format.txt")));
  }

  @Test
  void theContextFromTheEnvironmentWritesTheTrace(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("debug_log.txt");
    Rewards.Context ctx = Rewards.Context.fromEnvironment(null, Map.of("DEBUG_MODE", "true", "LOG_PATH",
        log.toString()));
    List<RewardFunction> fns = Rewards.resolve(List.of("accuracy", "format"), null, ctx);
    assertEquals(2, fns.size());
    fns.get(0).score(List.of(RewardSample.of("<answer>B</answer>", "<answer> B </answer>")));
    fns.get(1).score(List.of(RewardSample.of("x", "y")));
    assertTrue(Files.readString(log).matches("------------- \\d\\d-\\d\\d-\\d\\d-\\d\\d-\\d{6} Accuracy reward: 1\\.0 "
        + "-------------\naccu_reward_method: default\nimage_path: None\nproblem: None\nContent: <answer>B</answer>\n"
        + "Solution: <answer> B </answer>\n"), Files.readString(log));
    assertTrue(Files.readString(dir.resolve("debug_log_format.txt"))
        .matches("------------- [-\\d]{18} Format reward -------------\nContent: x\nHas format: False\n"));
    assertFalse(Rewards.Context.fromEnvironment(null, Map.of()).debugLog().enabled());
  }

  @Test
  void concurrentBatchesKeepEachBlockWhole(@TempDir Path dir) throws Exception {
    String fixed = System.getProperty("vlmr1.test.seed");
    long seed = fixed != null ? Long.parseLong(fixed) : System.nanoTime() & 0xffffffffL;
    System.out.println("RewardDebugLogTest: seed " + seed + " (replay with -Dvlmr1.test.seed=" + seed + ")");
    Random rnd = new Random(seed);
    Path log = dir.resolve("debug_log.txt");
    RewardDebugLog trace = RewardDebugLog.to(log.toString(), Clock.systemDefaultZone());
    int batches = 40;
    List<List<RewardSample>> all = new ArrayList<>();
    for (int b = 0; b < batches; b++) {
      List<RewardSample> batch = new ArrayList<>();
      for (int i = 0, n = 1 + rnd.nextInt(12); i < n; i++) {
        String tag = b + "." + i;
        // multi-line completions, as models write them
        batch.add(sample(tag, "<think>" + "line\n".repeat(rnd.nextInt(4)) + "</think><answer>" + tag + "</answer>",
            "<answer> " + tag + " </answer>", "problem " + tag, List.of(), "all_match"));
      }
      all.add(batch);
    }
    ExecutorService callers = Executors.newFixedThreadPool(6);
    try (RewardScorer scorer = new RewardScorer(List.of(new AccuracyReward(null, trace), new FormatReward(trace)),
        null, 4)) {
      List<Future<?>> done = new ArrayList<>();
      for (List<RewardSample> batch : all) {
        done.add(callers.submit(() -> scorer.score(batch)));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      callers.shutdownNow();
    }
    String text = Files.readString(log);
    String[] blocks = text.split("(?m)^(?=------------- )");
    int total = all.stream().mapToInt(List::size).sum();
    assertEquals(total, blocks.length, "one block per completion");
    for (String block : blocks) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("------------- [-\\d]{18} Accuracy reward: 1\\.0 "
          + "-------------\naccu_reward_method: all_match\nimage_path: None\nproblem: problem (\\d+\\.\\d+)\n"
          + "Content: <think>(?:line\n)*</think><answer>(\\d+\\.\\d+)</answer>\nSolution: <answer> (\\d+\\.\\d+) "
          + "</answer>\n").matcher(block);
      assertTrue(m.matches(), "a torn block:\n" + block);
      assertTrue(m.group(1).equals(m.group(2)) && m.group(2).equals(m.group(3)), "mixed completions:\n" + block);
    }
    String format = Files.readString(dir.resolve("debug_log_format.txt"));
    String[] headed = format.split("(?m)^(?=------------- )");
    assertEquals(batches, headed.length, "one header per scored batch");
    for (String h : headed) {
      assertTrue(h.matches("------------- [-\\d]{18} Format reward -------------\n(Content: <think>(?:line\n)*</think>"
          + "<answer>[\\d.]+</answer>\nHas format: True\n)+"), "a torn batch:\n" + h);
    }
  }
}
