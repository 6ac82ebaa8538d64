// --use_peft end to end: train writes PEFT adapter checkpoints (no base weights) naming the base model, resumes from
// them (and refuses other LoRA flags on resume), and merge-lora writes full weights W + (alpha / r) B A, checked
// against that sum computed here and against the base model with the adapters attached.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.LoraAdapters;
import org.vlmr1.model.LoraCheckpoint;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.util.Json;

class LoraCommandsTest {
  private static ScoreCommandTest.Run train(Path model, Path data, Path out, int steps, String r, String... more)
      throws Exception {
    List<String> args = new ArrayList<>(List.of("train", "--model_name_or_path", model.toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--task_type", "rec", "--is_reward_customized_from_vlm_module", "--reward_funcs", "accuracy", "format",
        "--num_generations", "2", "--per_device_train_batch_size", "4", "--max_completion_length", "4",
        "--max_steps", String.valueOf(steps), "--learning_rate", "1e-2", "--save_steps", "1",
        "--max_pixels", "12544", "--output_dir", out.toString(), "--use_peft", "true", "--lora_r", r,
        "--lora_alpha", "8", "--lora_dropout", "0", "--lora_task_type", "CAUSAL_LM"));
    args.addAll(List.of(more));
    return ScoreCommandTest.run(args.toArray(String[]::new));
  }

  /** The synthetic REC data (n examples) in {@code data} and a 1-layer tiny Qwen2.5-VL (tied head) in {@code model}. */
  private static void tinyQwenAndData(Path data, Path model, int n) throws Exception {
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", data.toString(), "--n", String.valueOf(n),
        "--width", "84", "--height", "56").rc());
    assertEquals(0, ScoreCommandTest.run("init-tiny", "--out", model.toString(), "--hidden_size", "32",
        "--num_layers", "1", "--vision_depth", "1").rc());
  }

  @Test
  void trainResumeAndMerge(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Path model = dir.resolve("tiny");
    tinyQwenAndData(data, model, 6);
    Path out = dir.resolve("run");
    ScoreCommandTest.Run r = train(model, data, out, 2, "4");
    assertEquals(0, r.rc(), r.err());
    assertTrue(r.out().contains("LoRA r 4, alpha 8.0 on 8 linear layers"), r.out());
    Path c2 = out.resolve("checkpoint-2");
    assertTrue(LoraCheckpoint.isAdapter(c2));
    assertFalse(Files.exists(c2.resolve("model.safetensors")), "the base weights are not copied");
    assertEquals(model.toString(), Json.readObject(c2.resolve("adapter_config.json")).get("base_model_name_or_path"));

    ScoreCommandTest.Run other = train(model, data, out, 3, "8");
    assertEquals(2, other.rc(), other.out());
    assertTrue(other.err().contains("resume with the run's LoRA flags"), other.err());
    ScoreCommandTest.Run more = train(model, data, out, 3, "4");
    assertEquals(0, more.rc(), more.err());
    assertTrue(more.out().contains("resuming from") && more.out().contains("checkpoint-2"), more.out());
    Path c3 = out.resolve("checkpoint-3");
    assertTrue(LoraCheckpoint.isAdapter(c3));
    // Old code: "no config.json in .../checkpoint-3 (a Hugging Face checkpoint folder is expected)", no way out named
    ScoreCommandTest.Run evalAdapter = ScoreCommandTest.run("eval", "--model", c3.toString(), "--data_file_paths",
        data.resolve("data.jsonl").toString(), "--image_folders", data.toString(), "--max_new_tokens", "2");
    assertEquals(1, evalAdapter.rc(), evalAdapter.err());
    assertTrue(evalAdapter.err().contains("it holds a LoRA adapter: bin/vlmr1 merge-lora --model BASE --adapter "
        + c3 + " --out DIR writes the full checkpoint"), evalAdapter.err());

    // The tiny random policy earns no reward variance on this data, so B may still be zero: merge an adapter folder
    // with the trained A and a random B instead, written in the same layout.
    long seed = new java.util.Random().nextLong();
    System.out.println("LoraCommandsTest seed " + seed);
    java.util.Random rnd = new java.util.Random(seed);
    Path adapter = dir.resolve("adapter");
    try (LoraAdapters ad = LoraCheckpoint.read(c3); PointerScope s = new PointerScope()) {
      for (String mod : ad.modules()) {
        Tensor b = ad.b(mod);
        float[] v = new float[(int) b.numel()];
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (0.05 * rnd.nextGaussian());
        }
        b.copy_(torch.tensor(v).reshape(b.size(0), b.size(1)));
      }
      LoraCheckpoint.save(ad, model.toString(), adapter);
    }
    Path merged = dir.resolve("merged");
    ScoreCommandTest.Run m = ScoreCommandTest.run("merge-lora", "--model", model.toString(), "--adapter",
        adapter.toString(), "--out", merged.toString());
    assertEquals(0, m.rc(), m.err());
    assertEquals(Boolean.FALSE, Json.readObject(merged.resolve("config.json")).get("tie_word_embeddings"));
    try (QwenVlModel base = QwenVlModel.load(model); QwenVlModel got = QwenVlModel.load(merged);
        LoraAdapters ad = LoraCheckpoint.read(adapter); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      double scaling = 8.0 / 4;
      List<String> adapted = new ArrayList<>();
      for (String mod : ad.modules()) {
        String key = mod + ".weight";
        Tensor w = mod.equals("lm_head") ? base.namedParameters().get("model.embed_tokens.weight")
            : base.namedParameters().get(key);
        Tensor want = w.to(ScalarType.Double).add(torch.matmul(ad.b(mod).to(ScalarType.Double),
            ad.a(mod).to(ScalarType.Double)).mul(new Scalar(scaling)));                       // W + (alpha / r) B A
        double d = want.sub(got.namedParameters().get(key).to(ScalarType.Double)).abs().max().item_double();
        assertTrue(d < 1e-6, key + " max |diff| " + d);
        adapted.add(key);
      }
      assertEquals(8, adapted.size());
      for (Map.Entry<String, Tensor> e : base.namedParameters().entrySet()) {
        if (!adapted.contains(e.getKey())) {
          assertTrue(torch.equal(e.getValue(), got.namedParameters().get(e.getKey())), e.getKey() + " unchanged");
        }
      }
      base.attachLora(LoraCheckpoint.read(adapter));
      Tensor ids = torch.tensor(new long[] {151644, 872, 198, 3838, 374, 279, 3691, 30}).reshape(1, 8);
      double d = base.forward(ids, null, Map.of(), true).logits().sub(got.forward(ids, null, Map.of(), true)
          .logits()).abs().max().item_double();
      System.out.printf("merged vs base + adapters: logits max |diff| %.3g%n", d);
      assertTrue(d < 1e-4, "logits max |diff| " + d);
    }
  }

  /**
   * InternVL with VLM-R1's LoRA flags and TRL's defaults otherwise (dropout 0.05 on every default target, mlp1
   * included, which was refused), with a Qwen2 and an InternLM2 language model: train writes PEFT checkpoints under
   * the family's module names, and merge-lora writes the base layout back (InternLM2's packed keys).
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(org.vlmr1.module.internvl.InternVlConfig.LlmArch.class)
  void internVlTrainsWithTheDefaultLoraFlags(org.vlmr1.module.internvl.InternVlConfig.LlmArch llm, @TempDir Path dir)
      throws Exception {
    Path data = dir.resolve("data");
    Path model = dir.resolve("tiny");
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", data.toString(), "--n", "4", "--width", "84",
        "--height", "56").rc());
    org.vlmr1.module.internvl.InternVlTiny.write(new org.vlmr1.module.internvl.InternVlTiny.Spec(32, 1, 4, 2, 64, 1,
        32, 2, 56, 2, 5), model, org.vlmr1.module.internvl.InternVlConfig.NormType.LAYER_NORM, llm);
    Path out = dir.resolve("run");
    ScoreCommandTest.Run r = ScoreCommandTest.run("train", "--model_name_or_path", model.toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--task_type", "rec", "--is_reward_customized_from_vlm_module", "--reward_funcs", "accuracy", "format",
        "--num_generations", "2", "--per_device_train_batch_size", "2", "--max_completion_length", "4",
        "--max_steps", "1", "--save_steps", "1", "--output_dir", out.toString(), "--use_peft", "true",
        "--gradient_checkpointing", "true", "--freeze_vision_modules", "true");
    assertEquals(0, r.rc(), r.err());
    Path c1 = out.resolve("checkpoint-1");
    Map<String, Object> config = Json.readObject(c1.resolve(LoraCheckpoint.CONFIG));
    assertEquals(0.05, ((Number) config.get("lora_dropout")).doubleValue());
    String qkv = llm == org.vlmr1.module.internvl.InternVlConfig.LlmArch.INTERNLM2
        ? "language_model.model.layers.0.attention.wqkv" : "language_model.model.layers.0.self_attn.q_proj";
    assertTrue(((List<?>) config.get("target_modules")).containsAll(List.of("mlp1.1", "mlp1.3", qkv)),
        config.toString());
    Path merged = dir.resolve("merged");
    ScoreCommandTest.Run m = ScoreCommandTest.run("merge-lora", "--model", model.toString(), "--adapter",
        c1.toString(), "--out", merged.toString());
    assertEquals(0, m.rc(), m.err());
    assertEquals(org.vlmr1.model.SafeTensorsFile.open(model.resolve("model.safetensors")).entries().keySet(),
        org.vlmr1.model.SafeTensorsFile.open(merged.resolve("model.safetensors")).entries().keySet(),
        "merged weights in the base checkpoint's layout");
  }

  /**
   * --lora_modules_to_save end to end on the tied tiny Qwen: the head trains in full (no adapter on it), the checkpoint
   * holds its copy under PEFT's saved name, resume refuses another list and continues with the same one, and the
   * merged full weights (lm_head.weight of its own, tie_word_embeddings false) give the logits of the base model with
   * the checkpoint attached.
   */
  @Test
  void modulesToSaveTrainResumeAndMerge(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Path model = dir.resolve("tiny");
    tinyQwenAndData(data, model, 6);
    Path out = dir.resolve("run");
    ScoreCommandTest.Run r = train(model, data, out, 1, "4", "--lora_modules_to_save", "lm_head");
    assertEquals(0, r.rc(), r.err());
    assertTrue(r.out().contains("on 7 linear layers; trained in full (modules_to_save): [lm_head.weight]"), r.out());
    Path c1 = out.resolve("checkpoint-1");
    assertTrue(org.vlmr1.model.SafeTensorsFile.open(c1.resolve(LoraCheckpoint.WEIGHTS)).entries()
        .containsKey("base_model.model.lm_head.weight"));
    assertEquals(List.of("lm_head"), Json.readObject(c1.resolve(LoraCheckpoint.CONFIG)).get("modules_to_save"));
    ScoreCommandTest.Run other = train(model, data, out, 2, "4", "--lora_modules_to_save", "model.norm");
    assertEquals(2, other.rc(), other.out());
    assertTrue(other.err().contains("resume with the run's LoRA flags"), other.err());
    ScoreCommandTest.Run more = train(model, data, out, 2, "4", "--lora_modules_to_save", "lm_head");
    assertEquals(0, more.rc(), more.err());
    assertTrue(more.out().contains("resuming from") && more.out().contains("checkpoint-1"), more.out());
    Path c2 = out.resolve("checkpoint-2");

    Path merged = dir.resolve("merged");
    ScoreCommandTest.Run m = ScoreCommandTest.run("merge-lora", "--model", model.toString(), "--adapter",
        c2.toString(), "--out", merged.toString());
    assertEquals(0, m.rc(), m.err());
    assertEquals(Boolean.FALSE, Json.readObject(merged.resolve("config.json")).get("tie_word_embeddings"));
    try (QwenVlModel base = QwenVlModel.load(model); QwenVlModel got = QwenVlModel.load(merged);
        PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      LoraAdapters ad = LoraCheckpoint.read(c2);
      assertTrue(torch.equal(ad.copyOf("lm_head.weight"), got.namedParameters().get("lm_head.weight")));
      base.attachLora(ad);
      Tensor ids = torch.tensor(new long[] {151644, 872, 198, 3838, 374, 279, 3691, 30}).reshape(1, 8);
      double d = base.forward(ids, null, Map.of(), true).logits().sub(got.forward(ids, null, Map.of(), true)
          .logits()).abs().max().item_double();
      System.out.printf("merged vs base + checkpoint: logits max |diff| %.3g%n", d);
      assertTrue(d < 1e-4, "logits max |diff| " + d);
    }
  }

  /** Bad LoRA flags are usage errors naming the flag, before training starts. */
  @Test
  void badLoraFlagsAreUsageErrors(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Path model = dir.resolve("tiny");
    tinyQwenAndData(data, model, 4);
    Map<String, List<String>> cases = new java.util.LinkedHashMap<>();
    cases.put("lora_r must be positive", List.of("--lora_r", "0"));
    cases.put("lora_task_type must be one of [CAUSAL_LM]", List.of("--lora_task_type", "SEQ_CLS"));
    cases.put("lora_dropout must be in [0, 1)", List.of("--lora_dropout", "1"));
    cases.put("[nope] match no linear layer", List.of("--lora_target_modules", "nope"));
    cases.put("matches only modules inside the vision modules", List.of("--lora_target_modules", "qkv"));
    cases.put("lora_modules_to_save [nope] match no module", List.of("--lora_modules_to_save", "nope"));
    cases.put("trained copies inside the vision tower are not implemented", List.of("--lora_modules_to_save",
        "merger"));
    for (Map.Entry<String, List<String>> c : cases.entrySet()) {
      List<String> args = new ArrayList<>(List.of("train", "--model_name_or_path", model.toString(),
          "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
          "--num_generations", "2", "--per_device_train_batch_size", "2", "--max_steps", "1", "--output_dir",
          dir.resolve("run").toString(), "--use_peft", "--lora_dropout", "0"));
      args.addAll(c.getValue());
      ScoreCommandTest.Run r = ScoreCommandTest.run(args.toArray(String[]::new));
      assertEquals(2, r.rc(), c.getKey() + ": " + r.err());
      assertTrue(r.err().contains(c.getKey()), r.err());
    }
  }
}
