// train reads VLM-R1's reward environment: DEBUG_MODE/LOG_PATH write the reward trace, OPENAI_API_BASE brings the llm
// judge (a loopback stand-in here), and fall-backs to exact match show as rewards/llm_judge_fallbacks.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.util.Json;

class TrainRewardEnvTest {

  /** One train step of 4 completions (G 2) whose accuracy method is llm; returns the step's metrics. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> trainOneStep(Path dir, Path out, Map<String, String> env) throws Exception {
    ScoreCommandTest.Run r = ModelIdCommandsTest.run(env, "train", "--model_name_or_path",
        dir.resolve("tiny").toString(), "--data_file_paths", dir.resolve("data/data.jsonl").toString(),
        "--image_folders", dir.resolve("data").toString(), "--reward_method", "llm", "--task_type", "rec",
        "--reward_funcs", "accuracy", "format", "--num_generations", "2", "--per_device_train_batch_size", "4",
        "--max_completion_length", "4", "--max_steps", "1", "--max_pixels", "12544", "--output_dir", out.toString());
    assertEquals(0, r.rc(), r.err());
    List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
    return (Map<String, Object>) Json.parse(lines.get(lines.size() - 1));
  }

  @Test
  void debugTraceJudgeAndFallBacks(@TempDir Path dir) throws Exception {
    TinyFixture.write(dir.resolve("data"), 4, 84, 56, dir.resolve("tiny"));

    Path log = dir.resolve("log/debug_log.run1.txt");
    Map<String, Object> m = trainOneStep(dir, dir.resolve("run1"), Map.of("DEBUG_MODE", "true", "LOG_PATH",
        log.toString()));
    assertEquals(4.0, ((Number) m.get("rewards/llm_judge_fallbacks")).doubleValue(), "no judge: 4 fall-backs");
    String acc = Files.readString(log);
    assertEquals(4, acc.split("(?m)^------------- [-\\d]{18} Accuracy reward: ").length - 1, acc);
    assertTrue(acc.contains("\naccu_reward_method: llm\nimage_path: ['" + dir.resolve("data").toAbsolutePath()), acc);
    String fmt = Files.readString(dir.resolve("log/debug_log.run1_format.txt"));
    assertEquals(1, fmt.split("(?m)^------------- .* Format reward -------------$").length - 1, fmt);
    assertEquals(4, fmt.split("(?m)^Has format: (True|False)$").length - 1, fmt);

    HttpServer judge = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    judge.createContext("/v1/chat/completions", ex -> {
      byte[] body = Json.write(Map.of("choices", List.of(Map.of("message", Map.of("content", "1.0")))))
          .getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    judge.start();
    try {
      Map<String, Object> judged = trainOneStep(dir, dir.resolve("run2"), Map.of("OPENAI_API_BASE",
          "http://127.0.0.1:" + judge.getAddress().getPort() + "/v1"));
      assertEquals(0.0, ((Number) judged.get("rewards/llm_judge_fallbacks")).doubleValue());
      assertEquals(1.0, ((Number) judged.get("rewards/accuracy")).doubleValue(), "the judge's 1.0 for every one");
    } finally {
      judge.stop(0);
    }
    try (var files = Files.list(dir.resolve("log"))) {
      assertEquals(2, files.count(), "DEBUG_MODE unset in run 2: no new trace files");
    }
  }
}
