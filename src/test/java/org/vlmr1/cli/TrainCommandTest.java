// bin/vlmr1 train end to end on synthetic REC data and a tiny checkpoint: metrics.jsonl with TRL's names, the
// reward, KL and completion-length charts at each save, atomic checkpoints pruned to save_total_limit, the last one
// loadable.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.util.Json;

class TrainCommandTest {

  /** n synthetic REC examples of 84 x 56 px in data, a tiny checkpoint (hidden 32, one layer) in model. */
  private static void writeFixture(Path data, int n, Path model) throws Exception {
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", data.toString(), "--n", String.valueOf(n),
        "--width", "84", "--height", "56").rc());
    assertEquals(0, ScoreCommandTest.run("init-tiny", "--out", model.toString(), "--hidden_size", "32",
        "--num_layers", "1", "--vision_depth", "1").rc());
  }

  private static final List<String> PLOTS = List.of("reward.png", "kl.png", "completion_length.png");

  /** The run folder holds the three charts of trainer/Plots, readable PNGs. */
  private static void assertPlots(Path run) throws Exception {
    for (String chart : PLOTS) {
      java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(run.resolve(chart).toFile());
      assertTrue(img != null && img.getWidth() > 0, chart + " in " + run);
    }
  }

  @Test
  void trainsWritesMetricsAndCheckpoints(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Path model = dir.resolve("tiny");
    writeFixture(data, 6, model);
    Path out = dir.resolve("run");
    ScoreCommandTest.Run r = ScoreCommandTest.run("train", "--model_name_or_path", model.toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--task_type", "rec", "--is_reward_customized_from_vlm_module", "--reward_funcs", "accuracy", "format",
        "--num_generations", "2", "--per_device_train_batch_size", "4", "--max_completion_length", "4",
        "--max_steps", "2", "--learning_rate", "1e-3", "--save_steps", "1", "--save_total_limit", "1",
        "--max_pixels", "12544", "--output_dir", out.toString(), "--deepspeed", "zero3.json");
    assertEquals(0, r.rc(), r.err());
    assertTrue(r.err().contains("--deepspeed has no meaning"), r.err());
    List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
    assertEquals(2, lines.size());
    @SuppressWarnings("unchecked")
    Map<String, Object> m = (Map<String, Object>) Json.parse(lines.get(1));
    for (String k : new String[] {"step", "reward", "reward_std", "rewards/accuracy", "rewards/format", "kl",
        "completion_length", "grad_norm", "learning_rate", "loss", "entropy", "time/generate", "time/score",
        "time/loss", "time/optimizer", "tokens_per_second"}) {
      assertTrue(m.containsKey(k), k + " in " + m);
    }
    assertPlots(out);
    assertFalse(Files.exists(out.resolve("checkpoint-1")), "pruned by save_total_limit 1");
    assertTrue(Files.isRegularFile(out.resolve("checkpoint-2/trainer_state.json")));
    try (QwenVlModel again = QwenVlModel.load(out.resolve("checkpoint-2"))) {
      assertEquals(32, again.config().hiddenSize());
    }
    // Running again with more steps resumes from checkpoint-2 and does only the missing step; its save at step 3
    // writes the charts again.
    for (String chart : PLOTS) {
      Files.delete(out.resolve(chart));
    }
    ScoreCommandTest.Run more = ScoreCommandTest.run("train", "--model_name_or_path", model.toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--task_type", "rec", "--is_reward_customized_from_vlm_module", "--reward_funcs", "accuracy", "format",
        "--num_generations", "2", "--per_device_train_batch_size", "4", "--max_completion_length", "4",
        "--max_steps", "3", "--learning_rate", "1e-3", "--save_steps", "1", "--save_total_limit", "1",
        "--max_pixels", "12544", "--output_dir", out.toString());
    assertEquals(0, more.rc(), more.err());
    assertTrue(more.out().contains("resuming from") && more.out().contains("checkpoint-2"), more.out());
    assertEquals(3, Files.readAllLines(out.resolve("metrics.jsonl")).size());
    assertTrue(Files.isDirectory(out.resolve("checkpoint-3")));
    assertPlots(out);
    ScoreCommandTest.Run eval = ScoreCommandTest.run("eval", "--model", out.resolve("checkpoint-3").toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--max_new_tokens", "4", "--max_pixels", "12544", "--output_path", dir.resolve("eval/results.json").toString());
    assertEquals(0, eval.rc(), eval.err());
    assertTrue(eval.out().contains("over 6 examples"), eval.out());
    @SuppressWarnings("unchecked")
    Map<String, Object> results = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("eval/results.json")));
    assertEquals(6, ((List<?>) results.get("results")).size());
    @SuppressWarnings("unchecked")
    Map<String, Object> first = (Map<String, Object>) ((List<?>) results.get("results")).get(0);
    for (String k : new String[] {"image", "question", "ground_truth", "model_output", "extracted_answer", "correct"}) {
      assertTrue(first.containsKey(k), k + " in " + first);
    }
    ScoreCommandTest.Run sft = ScoreCommandTest.run("sft", "--model_name_or_path", model.toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--answer_template", "<answer>{solution}</answer>", "--max_steps", "2", "--per_device_train_batch_size", "2",
        "--max_pixels", "12544", "--output_dir", dir.resolve("sft").toString());
    assertEquals(0, sft.rc(), sft.err());
    assertTrue(Files.isRegularFile(dir.resolve("sft/model.safetensors")));
  }

  /** The length reward counts with the policy's tokenizer; --num_iterations 2 reuses step 1's rollouts in step 2. */
  @Test
  void lengthRewardAndBufferedRollouts(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Path model = dir.resolve("tiny");
    writeFixture(data, 4, model);
    Path out = dir.resolve("run");
    ScoreCommandTest.Run r = ScoreCommandTest.run("train", "--model_name_or_path", model.toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--reward_funcs", "length", "repetition", "--num_generations", "2", "--per_device_train_batch_size", "4",
        "--max_completion_length", "4", "--max_steps", "2", "--num_iterations", "2", "--max_pixels", "12544",
        "--output_dir", out.toString());
    assertEquals(0, r.rc(), r.err());
    List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
    assertEquals(2, lines.size());
    @SuppressWarnings("unchecked")
    Map<String, Object> first = (Map<String, Object>) Json.parse(lines.get(0));
    @SuppressWarnings("unchecked")
    Map<String, Object> second = (Map<String, Object>) Json.parse(lines.get(1));
    assertTrue(first.containsKey("rewards/length") && first.containsKey("rewards/repetition"), first.toString());
    assertEquals(first.get("reward"), second.get("reward"), "step 2 scores step 1's rollouts");
    assertEquals(0.0, ((Number) second.get("time/generate")).doubleValue(), "no generation inside a round");
  }

  /**
   * --logging_steps 2 logs each two steps' mean (HF's Trainer and TRL average over the interval), with the second
   * step's grad_norm and learning rate: the same seeded run logged every step gives the two lines to average. The old
   * code logged the second step's values alone.
   */
  @Test
  void loggingStepsAverageTheInterval(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Path model = dir.resolve("tiny");
    writeFixture(data, 6, model);
    List<Map<String, Object>> every = new java.util.ArrayList<>();
    List<Map<String, Object>> pairs = new java.util.ArrayList<>();
    for (int logging : new int[] {1, 2}) {
      Path out = dir.resolve("run" + logging);
      ScoreCommandTest.Run r = ScoreCommandTest.run("train", "--model_name_or_path", model.toString(),
          "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
          "--task_type", "rec", "--is_reward_customized_from_vlm_module", "--reward_funcs", "accuracy", "format",
          "--num_generations", "2", "--per_device_train_batch_size", "4", "--max_completion_length", "4",
          "--max_steps", "2", "--learning_rate", "1e-2", "--seed", "5",
          "--max_pixels", "12544", "--logging_steps", String.valueOf(logging), "--output_dir", out.toString());
      assertEquals(0, r.rc(), r.err());
      for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) Json.parse(line);
        (logging == 1 ? every : pairs).add(m);
      }
    }
    assertEquals(2, every.size());
    assertEquals(1, pairs.size(), "one line for two steps");
    Map<String, Object> a = every.get(0);
    Map<String, Object> b = every.get(1);
    Map<String, Object> w = pairs.get(0);
    assertEquals(2, ((Number) w.get("step")).intValue());
    for (String k : new String[] {"loss", "reward", "reward_std", "rewards/accuracy", "rewards/format", "kl",
        "entropy", "completion_length"}) {
      double mean = (num(a, k) + num(b, k)) / 2;
      assertEquals(mean, num(w, k), 1e-9 * Math.max(1, Math.abs(mean)), k + ": the two steps' mean");
    }
    // A tiny random model's rewards are flat; its entropy moves with the update (by ~1e-6, far above the tolerance).
    assertTrue(Math.abs(num(a, "entropy") - num(b, "entropy")) > 1e-7, "the steps differ: " + every);
    assertEquals(num(b, "grad_norm"), num(w, "grad_norm"), 0, "the last step's grad_norm");
    assertEquals(num(b, "learning_rate"), num(w, "learning_rate"), 0, "the last step's learning rate");
  }

  private static double num(Map<String, Object> m, String k) {
    assertTrue(m.get(k) instanceof Number, k + " in " + m);
    return ((Number) m.get(k)).doubleValue();
  }
}
