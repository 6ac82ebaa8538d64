// train's run options (issue 12): the demo rule, --resume_from_checkpoint True|False|PATH with --overwrite, steps
// from epochs with num_iterations, the compute dtype of a bfloat16 checkpoint, and --log_completions.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.util.Json;

class TrainOptionsTest {
  @TempDir
  static Path dir;
  private static Path data;
  private static Path model;

  @BeforeAll
  static void fixture() throws Exception {
    data = dir.resolve("data");
    model = dir.resolve("tiny");
    TinyFixture.write(data, 4, 56, 56, model);
  }

  /** A short run: 4 examples, G 2, 4 completions per step, 4 tokens each, a checkpoint every step. */
  private static ScoreCommandTest.Run train(Path ckpt, Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("train", "--model_name_or_path", ckpt.toString(), "--data_file_paths",
        data.resolve("data.jsonl").toString(), "--image_folders", data.toString(), "--reward_funcs", "format",
        "length", "--num_generations", "2", "--per_device_train_batch_size", "4", "--max_completion_length", "4",
        "--max_pixels", "12544", "--save_steps", "1", "--output_dir", out.toString()));
    a.addAll(List.of(extra));
    return ScoreCommandTest.run(a.toArray(String[]::new));
  }

  @Test
  void someFlagsWithoutModelOrDataAreAUsageErrorNotTheDemo() {
    ScoreCommandTest.Run r = ScoreCommandTest.run("train", "--max_steps", "2", "--output_dir",
        dir.resolve("x").toString());
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("train needs --model_name_or_path"), r.err());
    ScoreCommandTest.Run d = ScoreCommandTest.run("train", "--demo", "--seed", "1", "--max_steps", "3");
    assertEquals(2, d.rc(), d.err());
    assertTrue(d.err().contains("--demo takes only --seed and --output_dir"), d.err());
    assertFalse(Files.exists(dir.resolve("x")));
    ScoreCommandTest.Run cuda = train(model, dir.resolve("cuda"), "--max_steps", "1", "--device", "cuda");
    assertEquals(2, cuda.rc(), cuda.err());
    assertTrue(cuda.err().contains("--device cuda: this libtorch build has no CUDA"), cuda.err());
    assertFalse(Files.exists(dir.resolve("cuda")), "refused before the output folder is made");
    // Processing keywords come from the registry: train --help lists every family's, a checkpoint takes only its own.
    ScoreCommandTest.Run help = ScoreCommandTest.run("train", "--help");
    assertTrue(help.out().contains("--max_pixels") && help.out().contains("qwen: most pixels")
        && help.out().contains("--max_anyres_num") && help.out().contains("internvl: most tiles"), help.out());
    ScoreCommandTest.Run other = train(model, dir.resolve("other"), "--max_steps", "1", "--max_anyres_num", "4");
    assertEquals(2, other.rc(), other.err());
    assertTrue(other.err().contains("--max_anyres_num is not a processing keyword of the qwen family (its keywords: "
        + "max_pixels, min_pixels)"), other.err());
    // Old code: the same refusal from sft, eval and prepare exited 1 with "--debug for the stack
    // trace", as if vlmr1 had failed rather than the command line
    String png = data.resolve("images/img_00000.png").toString();
    String jsonl = data.resolve("data.jsonl").toString();
    String[][] others = {
        {"sft", "--model_name_or_path", model.toString(), "--data_file_paths", jsonl, "--image_folders",
            data.toString(), "--max_steps", "1", "--output_dir", dir.resolve("sft-other").toString()},
        {"eval", "--model", model.toString(), "--data_file_paths", jsonl, "--image_folders", data.toString()},
        {"prepare", "--model", model.toString(), "--image", png, "--text", "hi", "--out",
            dir.resolve("other.safetensors").toString()}};
    for (String[] cmd : others) {
      String[] args = java.util.Arrays.copyOf(cmd, cmd.length + 2);
      args[cmd.length] = "--max_anyres_num";
      args[cmd.length + 1] = "4";
      ScoreCommandTest.Run refused = ScoreCommandTest.run(args);
      assertEquals(2, refused.rc(), cmd[0] + ": " + refused.err());
      assertTrue(refused.err().contains("--max_anyres_num is not a processing keyword of the qwen family")
          && !refused.err().contains("--debug"), cmd[0] + ": " + refused.err());
    }
    ScoreCommandTest.Run foreign = ScoreCommandTest.run("train", "--report_to", "wandb");
    assertEquals(2, foreign.rc(), "only VLM-R1 flags is still some flags: " + foreign.err());
  }

  @Test
  void resumeFromCheckpointFollowsVlmR1sRule() throws Exception {
    Path out = dir.resolve("resume");
    assertEquals(0, train(model, out, "--max_steps", "1").rc());
    ScoreCommandTest.Run refused = train(model, out, "--max_steps", "1", "--resume_from_checkpoint", "False");
    assertEquals(2, refused.rc(), refused.err());
    assertTrue(refused.err().contains("--overwrite"), refused.err());
    ScoreCommandTest.Run fresh = train(model, out, "--max_steps", "2", "--resume_from_checkpoint", "false",
        "--overwrite");
    assertEquals(0, fresh.rc(), fresh.err());
    assertFalse(fresh.out().contains("resuming from"), fresh.out());
    assertEquals(2, Files.readAllLines(out.resolve("metrics.jsonl")).size(), "started at step 0, old metrics gone");
    ScoreCommandTest.Run path = train(model, dir.resolve("elsewhere"), "--max_steps", "3",
        "--resume_from_checkpoint", out.resolve("checkpoint-2").toString());
    assertEquals(0, path.rc(), path.err());
    assertTrue(path.out().contains("resuming from " + out.resolve("checkpoint-2")), path.out());
    assertEquals(1, Files.readAllLines(dir.resolve("elsewhere/metrics.jsonl")).size(), "only step 3 ran");
    ScoreCommandTest.Run incomplete = train(model, dir.resolve("elsewhere2"), "--max_steps", "3",
        "--resume_from_checkpoint", model.toString());
    assertEquals(2, incomplete.rc(), incomplete.err());
    assertTrue(incomplete.err().contains("not a complete checkpoint"), incomplete.err());
  }

  /** N 4, G 2, b 4, mu 2: 4 steps per epoch (the old rule gave 2: it ignored num_iterations). */
  @Test
  void stepsFromEpochsCountNumIterations() throws Exception {
    Path out = dir.resolve("epochs");
    ScoreCommandTest.Run r = train(model, out, "--num_train_epochs", "1", "--num_iterations", "2");
    assertEquals(0, r.rc(), r.err());
    assertTrue(r.out().contains("max_steps 4 from num_train_epochs"), r.out());
    assertEquals(4, Files.readAllLines(out.resolve("metrics.jsonl")).size());
  }

  /**
   * Hugging Face's TrainingArguments that VLM-R1 accepts: --warmup_steps overrides --warmup_ratio, the AdamW flags
   * are taken (and validated), and without --max_steps the epochs default to 3 (the old code refused the first four
   * flags as unknown and defaulted to one epoch).
   */
  @Test
  void trainingArgumentsWarmupStepsAdamAndDefaultEpochs() throws Exception {
    Path out = dir.resolve("warmup");
    ScoreCommandTest.Run r = train(model, out, "--max_steps", "3", "--learning_rate", "1e-3", "--warmup_ratio", "0.9",
        "--warmup_steps", "2", "--adam_beta1", "0.8", "--adam_beta2", "0.95", "--adam_epsilon", "1e-6");
    assertEquals(0, r.rc(), r.err());
    double[] want = {0, 0.5e-3, 1e-3}; // linear warm-up over 2 steps, then linear decay from step 2 of 3
    List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
    assertEquals(3, lines.size());
    for (int i = 0; i < 3; i++) {
      @SuppressWarnings("unchecked")
      Map<String, Object> m = (Map<String, Object>) Json.parse(lines.get(i));
      assertEquals(want[i], ((Number) m.get("learning_rate")).doubleValue(), 1e-15, "step " + (i + 1));
    }
    ScoreCommandTest.Run bad = train(model, dir.resolve("bad-beta"), "--max_steps", "1", "--adam_beta2", "1.5");
    assertEquals(2, bad.rc(), bad.err());
    assertTrue(bad.err().contains("--adam_beta2 must be in [0, 1)"), bad.err());
    Path epochs = dir.resolve("default-epochs");
    ScoreCommandTest.Run e = train(model, epochs);
    assertEquals(0, e.rc(), e.err());
    assertTrue(e.out().contains("max_steps 6 from num_train_epochs 3"), e.out()); // 4 examples x G 2 / 4 a step
  }

  /** A bfloat16 checkpoint trains in float32 unless asked; --torch_dtype bfloat16 keeps float32 masters. */
  @Test
  void bf16CheckpointTrainsInFloat32UnlessAsked() throws Exception {
    TorchRuntime.load();
    Path bf16 = dir.resolve("tiny-bf16");
    try (QwenVlModel m = QwenVlModel.load(model)) {
      m.castTo(ScalarType.BFloat16);
      m.save(bf16);
    }
    assertEquals("BF16", SafeTensorsFile.open(bf16.resolve("model.safetensors")).entries().values().stream()
        .filter(e -> e.name().contains("embed_tokens")).findFirst().orElseThrow().dtype());
    Path out = dir.resolve("f32");
    ScoreCommandTest.Run r = train(bf16, out, "--max_steps", "1");
    assertEquals(0, r.rc(), r.err());
    assertTrue(r.out().contains("dtype: float32"), r.out());
    assertEquals("F32", embedDtype(out.resolve("checkpoint-1")), "AdamW stepped float32 weights");
    Path outBf16 = dir.resolve("bf16");
    ScoreCommandTest.Run b = train(bf16, outBf16, "--max_steps", "1", "--torch_dtype", "bfloat16");
    assertEquals(0, b.rc(), b.err());
    assertTrue(b.out().contains("dtype: bfloat16"), b.out());
    assertTrue(Files.isRegularFile(outBf16.resolve("checkpoint-1/master_weights.safetensors")), "float32 masters");
    ScoreCommandTest.Run half = train(bf16, dir.resolve("f16"), "--max_steps", "1", "--torch_dtype", "float16");
    assertEquals(2, half.rc(), half.err());
  }

  private static String embedDtype(Path ckpt) throws Exception {
    return SafeTensorsFile.open(ckpt.resolve("model.safetensors")).entries().values().stream()
        .filter(e -> e.name().contains("embed_tokens")).findFirst().orElseThrow().dtype();
  }

  /**
   * G 4 with 2 completions per optimizer step (a script written for more processes): one generation round of 4
   * completions, advantages over the whole group, two optimizer steps on its halves.
   */
  @Test
  @SuppressWarnings("unchecked")
  void aGroupLargerThanAStepSpansARound() throws Exception {
    Path out = dir.resolve("spg");
    ScoreCommandTest.Run r = train(model, out, "--max_steps", "2", "--log_completions", "--num_generations", "4",
        "--per_device_train_batch_size", "2");
    assertEquals(0, r.rc(), r.err());
    assertTrue(r.out().contains("steps_per_generation 2"), r.out());
    List<String> lines = Files.readAllLines(out.resolve("completions.jsonl"));
    assertEquals(4, lines.size(), "one round for both steps");
    double sum = 0;
    for (String line : lines) {
      Map<String, Object> row = (Map<String, Object>) Json.parse(line);
      assertEquals(1, ((Number) row.get("step")).intValue());
      sum += ((Number) row.get("advantage")).doubleValue();
    }
    assertEquals(0, sum, 1e-5, "the group's advantages sum to zero across the two steps");
    List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
    Map<String, Object> second = (Map<String, Object>) Json.parse(metrics.get(1));
    assertEquals(0.0, ((Number) second.get("time/generate")).doubleValue(), "step 2 trains on the round's 2nd half");
    assertEquals(((Map<String, Object>) Json.parse(metrics.get(0))).get("reward"), second.get("reward"));
    ScoreCommandTest.Run bad = train(model, dir.resolve("spg-bad"), "--max_steps", "1", "--num_generations", "4",
        "--per_device_train_batch_size", "2", "--steps_per_generation", "1", "--gradient_accumulation_steps", "1");
    assertEquals(2, bad.rc(), bad.err());
    assertTrue(bad.err().contains("--steps_per_generation 2"), bad.err());
  }

  @Test
  @SuppressWarnings("unchecked")
  void logCompletionsWritesEveryCompletion() throws Exception {
    Path out = dir.resolve("log");
    ScoreCommandTest.Run r = train(model, out, "--max_steps", "2", "--log_completions");
    assertEquals(0, r.rc(), r.err());
    List<String> lines = Files.readAllLines(out.resolve("completions.jsonl"));
    assertEquals(8, lines.size(), "2 steps x 4 completions");
    double[] adv = new double[lines.size()];
    for (int i = 0; i < lines.size(); i++) {
      Map<String, Object> row = (Map<String, Object>) Json.parse(lines.get(i));
      assertEquals(i < 4 ? 1 : 2, ((Number) row.get("step")).intValue());
      assertEquals((long) i, ((Number) row.get("sample_index")).longValue());
      assertTrue(((String) row.get("prompt")).contains("<|im_start|>"), row.toString());
      assertTrue(row.containsKey("completion"));
      Map<String, Object> rewards = (Map<String, Object>) row.get("rewards");
      assertEquals(List.of("format", "length"), new ArrayList<>(rewards.keySet()));
      adv[i] = ((Number) row.get("advantage")).doubleValue();
    }
    for (int g = 0; g < adv.length; g += 2) {
      assertEquals(0, adv[g] + adv[g + 1], 1e-5, "advantages of a group of 2 sum to zero");
    }
  }
}
