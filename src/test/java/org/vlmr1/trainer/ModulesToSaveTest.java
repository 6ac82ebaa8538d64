// LoRA's modules_to_save (TRL's --lora_modules_to_save, PEFT's ModulesToSaveWrapper) on a tiny Qwen2.5-VL with a tied
// head: PEFT's suffix rule picks the modules, those leave the adapter targets, their trained copies are what the
// policy uses while its adapters are on (and what changes in training), the reference pass (adapters off) is the base
// model bit for bit, and the adapter file holds the copies under PEFT's saved names, read back bit for bit and merged
// in place of their base parameters (LoraCommandsTest runs the merged model).
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.LoraAdapters;
import org.vlmr1.model.LoraCheckpoint;
import org.vlmr1.model.LoraConfig;
import org.vlmr1.model.LoraTargets;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.reward.AccuracyReward;
import org.vlmr1.reward.FormatReward;

class ModulesToSaveTest {
  private static final List<String> LAYER = List.of("mlp.down_proj", "mlp.gate_proj", "mlp.up_proj",
      "self_attn.k_proj", "self_attn.o_proj", "self_attn.q_proj", "self_attn.v_proj");

  private static LoraConfig lora(double dropout, List<String> toSave) {
    return new LoraConfig(4, 8, dropout, LoraConfig.TaskType.CAUSAL_LM, null, toSave);
  }

  /** PEFT's plain suffix rule over module paths, outside the vision tower; matched modules are not adapted. */
  @Test
  void peftsSuffixRuleChoosesTheModulesAndTheyLeaveTheTargets(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(3), ckpt);
    List<String> vision = List.of("visual");
    try (QwenVlModel m = QwenVlModel.load(ckpt)) {
      // "norm" ends the final norm and both layer norms (PEFT's key.endswith, no dot needed); the vision blocks'
      // norm1/norm2 do not end with it, and the tied head is a module of its own
      LoraAdapters a = m.addLora(lora(0, List.of("lm_head", "norm")), vision, 1);
      assertEquals(List.of("lm_head.weight", "model.layers.0.input_layernorm.weight",
          "model.layers.0.post_attention_layernorm.weight", "model.norm.weight"), a.savedParameters());
      List<String> targets = new ArrayList<>();
      LAYER.forEach(x -> targets.add("model.layers.0." + x));
      assertEquals(targets, a.modules(), "lm_head trains in full, so it has no adapter");
      assertEquals(List.of("lm_head", "norm"), a.config().modulesToSave());
    }
    try (QwenVlModel m = QwenVlModel.load(ckpt)) {
      LoraAdapters a = m.addLora(lora(0, List.of("layers.0.mlp")), vision, 1);
      assertEquals(List.of("model.layers.0.mlp.down_proj.weight", "model.layers.0.mlp.gate_proj.weight",
          "model.layers.0.mlp.up_proj.weight"), a.savedParameters(), "a container trains every parameter in it");
      assertEquals(List.of("lm_head", "model.layers.0.self_attn.k_proj", "model.layers.0.self_attn.o_proj",
          "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj"), a.modules(),
          "nothing inside a trained-in-full module is adapted");
    }
    try (QwenVlModel m = QwenVlModel.load(ckpt)) {
      IllegalArgumentException tower = assertThrows(IllegalArgumentException.class,
          () -> m.addLora(lora(0, List.of("merger")), vision, 1));
      assertTrue(tower.getMessage().contains("matches only modules inside the vision modules [visual] "
          + "(visual.merger)"), tower.getMessage());
      IllegalArgumentException both = assertThrows(IllegalArgumentException.class,
          () -> m.addLora(lora(0, List.of("mlp")), vision, 1));
      assertTrue(both.getMessage().contains("matches modules inside the vision modules [visual] (visual.blocks.0.mlp")
          && both.getMessage().contains("longer suffix"), "PEFT would copy the tower's mlp too: " + both.getMessage());
      IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
          () -> m.addLora(lora(0, List.of("nope")), vision, 1));
      assertTrue(none.getMessage().contains("lora_modules_to_save [nope] match no module"), none.getMessage());
      IllegalArgumentException all = assertThrows(IllegalArgumentException.class,
          () -> m.addLora(new LoraConfig(4, 8, 0, LoraConfig.TaskType.CAUSAL_LM, List.of("lm_head"),
              List.of("lm_head")), vision, 1));
      assertTrue(all.getMessage().contains("no LoRA target is left"), all.getMessage());
      assertThrows(IllegalArgumentException.class, () -> lora(0, List.of()), "an empty list is not 'none'");
    }
    // a tied head under a container (InternVL's language_model.lm_head): the container would hold the head and its
    // embedding, which PEFT's deep copy keeps as one matrix; refused rather than trained as two drifting copies
    List<String> keys = List.of("language_model.model.embed_tokens.weight", "language_model.model.norm.weight",
        "vision_model.embeddings.patch_embedding.weight");
    String head = "language_model.lm_head";
    String embedding = "language_model.model.embed_tokens.weight";
    IllegalArgumentException pair = assertThrows(IllegalArgumentException.class, () -> LoraTargets.modulesToSave(
        keys, head, embedding, List.of("vision_model"), List.of("language_model")));
    assertTrue(pair.getMessage().contains("holds both the tied LM head"), pair.getMessage());
    assertEquals(Map.of(head, List.of(head + ".weight")), LoraTargets.modulesToSave(keys, head, embedding,
        List.of("vision_model"), List.of("lm_head")));
    assertEquals(Map.of("language_model.model", List.of(embedding, "language_model.model.norm.weight")),
        LoraTargets.modulesToSave(keys, null, null, List.of("vision_model"), List.of("language_model.model")),
        "untied: the container's own parameters");
  }

  /**
   * A trained embedding under a tied head: the policy's head stays the base embedding (PEFT copies the embedding
   * module; lm_head keeps the original matrix), so the merge writes the copy as the embedding and the base matrix as an
   * untied lm_head.weight.
   */
  @Test
  void aTrainedEmbeddingLeavesTheTiedHeadBaseAndMergesUntied(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(4), ckpt);
    try (QwenVlModel m = QwenVlModel.load(ckpt); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      Tensor base = m.namedParameters().get("model.embed_tokens.weight").clone();
      LoraAdapters a = m.addLora(lora(0, List.of("embed_tokens")), List.of("visual"), 1);
      assertEquals(List.of("model.embed_tokens.weight"), a.savedParameters());
      a.copyOf("model.embed_tokens.weight").add_(new org.bytedeco.pytorch.Scalar(0.5));  // a "trained" copy
      assertTrue(torch.equal(base, m.lmHead()), "the tied head reads the base embedding, not the copy");
      Tensor trained = a.copyOf("model.embed_tokens.weight").clone();
      assertTrue(m.mergeLora(), "the head keeps the base matrix as lm_head.weight of its own");
      assertTrue(torch.equal(base, m.namedParameters().get("lm_head.weight")));
      assertTrue(torch.equal(trained, m.namedParameters().get("model.embed_tokens.weight")));
    }
  }

  @Test
  void copiesTrainTheReferenceIsTheBaseAndTheyMergeInPlaceOfTheBase(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("ModulesToSaveTest seed " + seed);
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(seed), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).gradientAccumulationSteps(2)
        .maxCompletionLength(6).maxSteps(2).learningRate(1e-2).beta(0.04).seed(seed).outputDir(dir.resolve("run"))
        .build();
    List<String> savedWant = List.of("lm_head.weight", "model.norm.weight");
    Path adapter = dir.resolve("adapter");
    Tensor ids = torch.tensor(new long[] {151644, 872, 198, 3838, 374, 279, 3691, 30}).reshape(1, 8);
    ids.retainReference();
    Tensor adapted;
    try (QwenVlModel policy = QwenVlModel.load(ckpt); QwenVlModel base = QwenVlModel.load(ckpt)) {
      LoraAdapters ad = policy.addLora(lora(0.05, List.of("lm_head", "model.norm")), module.visionModulesKeywords(),
          seed);
      assertEquals(savedWant, ad.savedParameters());
      Map<String, Tensor> baseBefore = LoraTrainingTest.copies(policy.namedParameters());
      Map<String, Tensor> trainedBefore = LoraTrainingTest.copies(ad.namedParameters());
      List<StepMetrics> metrics;
      try (GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(new AccuracyReward(),
          new FormatReward()), GrpoTrainerTest.boxes(dir, 6), "rec")) {
        long trainable = ad.namedParameters().values().stream().mapToLong(Tensor::nbytes).sum();
        long copyBytes = savedWant.stream().mapToLong(k -> ad.copyOf(k).nbytes()).sum();
        assertTrue(copyBytes > 0 && copyBytes < trainable);
        assertEquals(trainable, t.gradientBytes(), "gradients (and AdamW) over the adapters and the copies");
        metrics = t.train();
      }
      assertEquals(0.0, metrics.get(0).kl(), "step 1: the copies start equal to the base and B is zero");
      assertTrue(metrics.get(1).kl() > 0, "step 2: the trained policy differs from the reference");
      Map<String, Tensor> copiesNow = new java.util.LinkedHashMap<>();
      savedWant.forEach(k -> copiesNow.put(LoraAdapters.PEFT_PREFIX + k, ad.copyOf(k)));
      LoraTrainingTest.assertOnlyTrainedMoved(baseBefore, policy.namedParameters(), trainedBefore, copiesNow);
      try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        Tensor want = base.forward(ids, null, Map.of(), true).logits();
        Tensor ref;
        try (LoraAdapters.Off off = ad.off()) {
          ref = policy.forward(ids, null, Map.of(), true).logits();
        }
        assertTrue(torch.equal(want, ref), "adapters off = base model (the copies are off too)");
        adapted = policy.forward(ids, null, Map.of(), true).logits();
        adapted.retainReference();
        assertFalse(torch.equal(want, adapted));
      }
      LoraCheckpoint.save(ad, ckpt.toString(), adapter);
      baseBefore.values().forEach(Tensor::releaseReference);
      trainedBefore.values().forEach(Tensor::releaseReference);
    }
    // PEFT's saved names: the copies as base_model.model.<parameter>, beside the adapters
    List<String> keys = new ArrayList<>(SafeTensorsFile.open(adapter.resolve(LoraCheckpoint.WEIGHTS)).entries()
        .keySet());
    java.util.Collections.sort(keys);
    List<String> want = new ArrayList<>(List.of("base_model.model.lm_head.weight"));
    for (String m : LAYER) {
      want.add("base_model.model.model.layers.0." + m + ".lora_A.weight");
      want.add("base_model.model.model.layers.0." + m + ".lora_B.weight");
    }
    want.add("base_model.model.model.norm.weight");
    assertEquals(want, keys);
    assertEquals(List.of("lm_head", "model.norm"), org.vlmr1.util.Json.readObject(adapter.resolve(
        LoraCheckpoint.CONFIG)).get("modules_to_save"));
    // the same file with the live model's names (<module>.modules_to_save.default.<parameter>) reads the same
    Path live = dir.resolve("live");
    java.nio.file.Files.createDirectories(live);
    java.nio.file.Files.copy(adapter.resolve(LoraCheckpoint.CONFIG), live.resolve(LoraCheckpoint.CONFIG));
    try (PointerScope s = new PointerScope(); LoraAdapters plain = LoraCheckpoint.read(adapter)) {
      SafeTensorsFile st = SafeTensorsFile.open(adapter.resolve(LoraCheckpoint.WEIGHTS));
      Map<String, Tensor> renamed = new java.util.LinkedHashMap<>();
      for (String k : st.entries().keySet()) {
        renamed.put(k.equals("base_model.model.lm_head.weight")
            ? "base_model.model.lm_head.modules_to_save.default.weight" : k, org.vlmr1.model.Weights.tensor(st, k));
      }
      org.vlmr1.model.SafeTensorsWriter.write(live.resolve(LoraCheckpoint.WEIGHTS), renamed);
      try (LoraAdapters read = LoraCheckpoint.read(live)) {
        assertEquals(savedWant, read.savedParameters());
        assertTrue(torch.equal(plain.copyOf("lm_head.weight"), read.copyOf("lm_head.weight")));
      }
    }
    // read back, attached to a fresh base: the same policy; merged: full weights with an untied head
    try (QwenVlModel fresh = QwenVlModel.load(ckpt); QwenVlModel merged = QwenVlModel.load(ckpt);
        PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      fresh.attachLora(LoraCheckpoint.read(adapter));
      assertTrue(torch.equal(adapted, fresh.forward(ids, null, Map.of(), true).logits()), "read back bit for bit");
      LoraAdapters read = LoraCheckpoint.read(adapter);
      Map<String, Tensor> copies = new java.util.TreeMap<>();
      savedWant.forEach(k -> copies.put(k, read.copyOf(k).detach().clone()));
      Tensor embedding = merged.namedParameters().get("model.embed_tokens.weight").clone();
      merged.attachLora(read);
      assertTrue(merged.mergeLora(), "the tied head's trained copy becomes lm_head.weight of its own");
      for (String k : savedWant) {
        assertTrue(torch.equal(copies.get(k), merged.namedParameters().get(k)), k + " is the trained copy");
      }
      assertTrue(torch.equal(embedding, merged.namedParameters().get("model.embed_tokens.weight")),
          "the embedding stays the base one");
    } finally {
      adapted.releaseReference();
      ids.releaseReference();
    }
  }
}
