// GRPO with LoRA (--use_peft) on a tiny Qwen2.5-VL: only the adapters train (every base weight bit-identical after
// the steps, every adapter tensor changed, gradients and AdamW over the adapters alone), and the reference pass is the
// base model: the KL is exactly 0 while the adapters are zero-initialised and positive once they have moved.
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
import org.vlmr1.model.LoraConfig;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.reward.AccuracyReward;
import org.vlmr1.reward.FormatReward;

class LoraTrainingTest {
  static Map<String, Tensor> copies(Map<String, Tensor> tensors) {
    Map<String, Tensor> s = new java.util.LinkedHashMap<>();
    tensors.forEach((k, v) -> {
      Tensor c = v.detach().clone();
      c.retainReference();
      s.put(k, c);
    });
    return s;
  }

  /**
   * Every base tensor bit-identical to its copy in {@code baseBefore}, and every tensor of {@code trained} changed from
   * its copy in {@code trainedBefore}.
   */
  static void assertOnlyTrainedMoved(Map<String, Tensor> baseBefore, Map<String, Tensor> base,
      Map<String, Tensor> trainedBefore, Map<String, Tensor> trained) {
    try (PointerScope s = new PointerScope()) {
      List<String> changedBase = new ArrayList<>();
      base.forEach((k, v) -> {
        if (!torch.equal(baseBefore.get(k), v.detach())) {
          changedBase.add(k);
        }
      });
      assertTrue(changedBase.isEmpty(), "base weights changed: " + changedBase);
      List<String> unchanged = new ArrayList<>();
      trained.forEach((k, v) -> {
        if (torch.equal(trainedBefore.get(k), v.detach())) {
          unchanged.add(k);
        }
      });
      assertTrue(unchanged.isEmpty(), "trained tensors left unchanged: " + unchanged);
    }
  }

  @Test
  void onlyAdaptersTrainAndTheReferenceIsTheBaseModel(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("LoraTrainingTest seed " + seed);
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(seed), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).gradientAccumulationSteps(2)
        .maxCompletionLength(6).maxSteps(2).learningRate(1e-2).beta(0.04).seed(seed).outputDir(dir.resolve("run"))
        .build();
    LoraConfig lora = new LoraConfig(4, 8, 0, LoraConfig.TaskType.CAUSAL_LM, null);
    try (QwenVlModel policy = QwenVlModel.load(ckpt); QwenVlModel base = QwenVlModel.load(ckpt)) {
      LoraAdapters ad = policy.addLora(lora, module.visionModulesKeywords(), seed);
      Map<String, Tensor> baseBefore = copies(policy.namedParameters());
      Map<String, Tensor> adaptersBefore = copies(ad.namedParameters());
      List<StepMetrics> metrics;
      try (GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(new AccuracyReward(),
          new FormatReward()), GrpoTrainerTest.boxes(dir, 6), "rec")) {
        long adapterBytes = ad.namedParameters().values().stream().mapToLong(Tensor::nbytes).sum();
        assertEquals(adapterBytes, t.gradientBytes(), "gradients (and AdamW) over the adapters only");
        metrics = t.train();
      }
      assertEquals(2, metrics.size());
      for (StepMetrics m : metrics) {
        assertFalse(m.skipped(), "step " + m.step());
        assertTrue(Double.isFinite(m.loss()) && Double.isFinite(m.kl()) && m.gradNorm() > 0, m.toString());
      }
      // B starts at zero, so the first step's policy is the base model: the reference (adapters off) matches it
      assertEquals(0.0, metrics.get(0).kl(), "step 1: policy = base = reference");
      assertTrue(metrics.get(1).kl() > 0, "step 2: the adapted policy differs from the reference (the base model)");
      try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        assertOnlyTrainedMoved(baseBefore, policy.namedParameters(), adaptersBefore, ad.namedParameters());
        // the reference pass (adapters off) is the base model's forward, bit for bit
        Tensor ids = torch.tensor(new long[] {151644, 872, 198, 3838, 374, 279, 3691, 30}).reshape(1, 8);
        Tensor want = base.forward(ids, null, Map.of(), true).logits();
        Tensor ref;
        try (LoraAdapters.Off off = ad.off()) {
          ref = policy.forward(ids, null, Map.of(), true).logits();
        }
        Tensor adapted = policy.forward(ids, null, Map.of(), true).logits();
        assertTrue(torch.equal(want, ref), "adapters off = base model");
        assertFalse(torch.equal(want, adapted), "adapters on differ");
      }
      baseBefore.values().forEach(Tensor::releaseReference);
      adaptersBefore.values().forEach(Tensor::releaseReference);
    }
  }

  /**
   * InternVL with frozen vision modules: the tower's cached features feed mlp1, whose adapters train like the
   * language model's; the reference pass (adapters off) is the base model's, so step 1's KL is 0.
   */
  @Test
  void internVlProjectorAndLanguageAdaptersTrain(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("LoraTrainingTest internvl seed " + seed);
    Path ckpt = dir.resolve("tiny");
    org.vlmr1.module.internvl.InternVlTiny.write(new org.vlmr1.module.internvl.InternVlTiny.Spec(32, 1, 4, 2, 64, 1,
        32, 2, 56, 2, seed), ckpt);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).gradientAccumulationSteps(2)
        .maxCompletionLength(6).maxSteps(2).learningRate(1e-2).beta(0.04).seed(seed).freezeVisionModules(true)
        .outputDir(dir.resolve("run")).build();
    try (org.vlmr1.model.VlmModel policy = module.loadModel(ckpt)) {
      LoraAdapters ad = policy.addLora(new LoraConfig(4, 8, 0, LoraConfig.TaskType.CAUSAL_LM, null),
          module.visionModulesKeywords(), seed);
      assertTrue(ad.modules().containsAll(List.of("mlp1.1", "mlp1.3", "language_model.lm_head")), ad.modules()
          .toString());
      List<StepMetrics> metrics = trainOnlyAdapters(dir, cfg, module, policy, ad);
      assertTrue(metrics.get(1).kl() > 0, "step 2: the adapted policy differs from the base model");
    }
  }

  /**
   * Trains {@code policy} with its adapters {@code ad} on 6 box examples and checks that step 1's KL is 0 (policy =
   * base = reference), that no base weight changed and that every adapter tensor did.
   */
  private static List<StepMetrics> trainOnlyAdapters(Path dir, GrpoConfig cfg, VlmModule module,
      org.vlmr1.model.VlmModel policy, LoraAdapters ad) throws Exception {
    Map<String, Tensor> baseBefore = copies(policy.namedParameters());
    Map<String, Tensor> adaptersBefore = copies(ad.namedParameters());
    List<StepMetrics> metrics;
    try (GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(new AccuracyReward(),
        InternVlTrainerTest.LENGTH), GrpoTrainerTest.boxes(dir, 6), "rec")) {
      metrics = t.train();
    }
    assertEquals(0.0, metrics.get(0).kl(), "step 1: policy = base = reference");
    assertOnlyTrainedMoved(baseBefore, policy.namedParameters(), adaptersBefore, ad.namedParameters());
    baseBefore.values().forEach(Tensor::releaseReference);
    adaptersBefore.values().forEach(Tensor::releaseReference);
    return metrics;
  }

  /**
   * InternVL with an InternLM2 language model, TRL's default dropout 0.05 on VLM-R1's default targets (mlp1 and the
   * packed attention.wqkv included): 2 steps change every adapter and no base weight.
   */
  @Test
  void internLm2AdaptersUnderPeftNamesTrainWithDropout(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("LoraTrainingTest internlm2 seed " + seed);
    Path ckpt = dir.resolve("tiny");
    org.vlmr1.module.internvl.InternVlTiny.write(new org.vlmr1.module.internvl.InternVlTiny.Spec(32, 1, 4, 2, 64, 1,
        32, 2, 56, 2, seed), ckpt, org.vlmr1.module.internvl.InternVlConfig.NormType.LAYER_NORM,
        org.vlmr1.module.internvl.InternVlConfig.LlmArch.INTERNLM2);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).gradientAccumulationSteps(2)
        .maxCompletionLength(6).maxSteps(2).learningRate(1e-2).beta(0.04).seed(seed).outputDir(dir.resolve("run"))
        .build();
    try (org.vlmr1.model.VlmModel policy = module.loadModel(ckpt)) {
      LoraAdapters ad = policy.addLora(new LoraConfig(4, 8, LoraConfig.DEFAULT_DROPOUT, LoraConfig.TaskType.CAUSAL_LM,
          null), module.visionModulesKeywords(), seed);
      assertTrue(ad.modules().containsAll(List.of("mlp1.1", "language_model.output",
          "language_model.model.layers.0.attention.wqkv", "language_model.model.layers.0.feed_forward.w2")),
          ad.modules().toString());
      trainOnlyAdapters(dir, cfg, module, policy, ad);
    }
  }

  /** Adapters after 2 steps with dropout p, LoRA on every default target (the LM head's widened pair included). */
  private static Map<String, Tensor> trainWithDropout(Path dir, Path ckpt, VlmModule module, double p, int run)
      throws Exception {
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).gradientAccumulationSteps(2)
        .maxCompletionLength(6).maxSteps(2).learningRate(1e-2).beta(0.04).seed(3).numIterations(2)
        .outputDir(dir.resolve("run" + run)).build();
    try (QwenVlModel policy = QwenVlModel.load(ckpt)) {
      Map<String, Tensor> base = copies(policy.namedParameters());
      LoraAdapters ad = policy.addLora(new LoraConfig(4, 8, p, LoraConfig.TaskType.CAUSAL_LM, null),
          module.visionModulesKeywords(), 9);
      Map<String, Tensor> before = copies(ad.namedParameters());
      List<StepMetrics> metrics;
      try (GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(new AccuracyReward(),
          InternVlTrainerTest.LENGTH), GrpoTrainerTest.boxes(dir, 6), "rec")) {
        metrics = t.train();
      }
      assertEquals(0.0, metrics.get(0).kl(), "B = 0 at step 1: dropout or not, the policy is the base model");
      try (PointerScope s = new PointerScope()) {
        policy.namedParameters().forEach((k, v) -> assertTrue(torch.equal(base.get(k), v.detach()), k));
        ad.namedParameters().forEach((k, v) -> assertFalse(torch.equal(before.get(k), v.detach()), k + " moved"));
      }
      base.values().forEach(Tensor::releaseReference);
      before.values().forEach(Tensor::releaseReference);
      return copies(ad.namedParameters());
    }
  }

  /**
   * Dropout 0.05 (VLM-R1's LoRA script): keyed masks make two runs bit-identical, and they differ from dropout 0
   * (the masks act), with the base frozen either way.
   */
  @Test
  void keyedDropoutTrainsReproducibly(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(4), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    Map<String, Tensor> a = trainWithDropout(dir, ckpt, module, 0.05, 1);
    Map<String, Tensor> b = trainWithDropout(dir, ckpt, module, 0.05, 2);
    Map<String, Tensor> none = trainWithDropout(dir, ckpt, module, 0, 3);
    try (PointerScope s = new PointerScope()) {
      List<String> differ = new ArrayList<>();
      a.forEach((k, v) -> {
        assertTrue(torch.equal(v, b.get(k)), k + ": same seed, same masks, same adapters");
        if (!torch.equal(v, none.get(k))) {
          differ.add(k);
        }
      });
      assertFalse(differ.isEmpty(), "dropout changed the training");
    }
    for (Map<String, Tensor> m : List.of(a, b, none)) {
      m.values().forEach(Tensor::releaseReference);
    }
  }

  @Test
  void aSecondReferenceCopyIsRefusedWithLora(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(2), ckpt);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(2).maxSteps(1).build();
    try (QwenVlModel policy = QwenVlModel.load(ckpt); QwenVlModel ref = QwenVlModel.load(ckpt)) {
      policy.addLora(LoraConfig.defaults(), module.visionModulesKeywords(), 1);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new GrpoTrainer(cfg, module,
          policy, ref, List.of(new FormatReward()), GrpoTrainerTest.boxes(dir, 2), "rec"));
      assertTrue(e.getMessage().contains("adapters off"), e.getMessage());
    }
  }

  /**
   * A LoRA checkpoint holds PEFT's files (the adapters, not the base weights), with the literal key list and config
   * fields below; a run resumed from it (base model + adapters read back + optimizer state) continues bit for bit.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
  void checkpointInPeftLayoutResumesBitForBit(boolean bf16, @TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(8), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    List<org.vlmr1.data.Example> data = GrpoTrainerTest.boxes(dir, 5);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(4)
        .maxSteps(3).learningRate(5e-3).beta(0.04).seed(11).bf16(bf16).build();
    List<org.vlmr1.reward.RewardFunction> rewards = List.of(new AccuracyReward(), InternVlTrainerTest.LENGTH);
    LoraConfig lora = new LoraConfig(4, 8, 0, LoraConfig.TaskType.CAUSAL_LM, null);
    List<StepMetrics> straight;
    Map<String, Tensor> finalStraight;
    try (QwenVlModel policy = QwenVlModel.load(ckpt)) {
      policy.addLora(lora, module.visionModulesKeywords(), 5);
      try (GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, rewards, data, "rec")) {
        straight = t.train();
        finalStraight = copies(policy.lora().namedParameters());
      }
    }
    Path run = dir.resolve("run");
    RunWriter writer = new RunWriter(run);
    try (QwenVlModel policy = QwenVlModel.load(ckpt)) {
      policy.addLora(lora, module.visionModulesKeywords(), 5);
      try (GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, rewards, data, "rec")) {
        t.step();
        t.step();
        writer.checkpoint(policy, t, 2, List.of(), 0); // then the process "dies"
      }
    }
    Path resume = RunWriter.latestCheckpoint(run);
    assertTrue(java.nio.file.Files.isRegularFile(resume.resolve("adapter_model.safetensors")));
    assertFalse(java.nio.file.Files.exists(resume.resolve("model.safetensors")), "no copy of the base weights");
    List<String> keys = new ArrayList<>(org.vlmr1.model.SafeTensorsFile.open(resume.resolve(
        "adapter_model.safetensors")).entries().keySet());
    java.util.Collections.sort(keys);
    List<String> want = new ArrayList<>(List.of("base_model.model.lm_head.lora_A.weight",
        "base_model.model.lm_head.lora_B.weight"));
    for (String m : List.of("mlp.down_proj", "mlp.gate_proj", "mlp.up_proj", "self_attn.k_proj", "self_attn.o_proj",
        "self_attn.q_proj", "self_attn.v_proj")) {
      want.add("base_model.model.model.layers.0." + m + ".lora_A.weight");
      want.add("base_model.model.model.layers.0." + m + ".lora_B.weight");
    }
    assertEquals(want, keys);
    org.vlmr1.model.SafeTensorsFile st = org.vlmr1.model.SafeTensorsFile.open(resume.resolve(
        "adapter_model.safetensors"));
    assertEquals(List.of(4L, 32L), List.of(st.entry("base_model.model.model.layers.0.mlp.up_proj.lora_A.weight")
        .shape()[0], st.entry("base_model.model.model.layers.0.mlp.up_proj.lora_A.weight").shape()[1]), "(r, in)");
    assertEquals(List.of(64L, 4L), List.of(st.entry("base_model.model.model.layers.0.mlp.up_proj.lora_B.weight")
        .shape()[0], st.entry("base_model.model.model.layers.0.mlp.up_proj.lora_B.weight").shape()[1]), "(out, r)");
    Map<String, Object> config = org.vlmr1.util.Json.readObject(resume.resolve("adapter_config.json"));
    List<String> modules = new ArrayList<>(List.of("lm_head"));
    want.stream().filter(k -> k.endsWith(".lora_A.weight") && !k.contains("lm_head")).forEach(k -> modules.add(
        k.substring("base_model.model.".length(), k.length() - ".lora_A.weight".length())));
    Map<String, Object> wantConfig = new java.util.TreeMap<>();
    wantConfig.put("alpha_pattern", Map.of());
    wantConfig.put("base_model_name_or_path", null); // a RunWriter without provenance; train passes the model path
    wantConfig.put("bias", "none");
    wantConfig.put("fan_in_fan_out", false);
    wantConfig.put("inference_mode", true);
    wantConfig.put("init_lora_weights", true);
    wantConfig.put("layers_pattern", null);
    wantConfig.put("layers_to_transform", null);
    wantConfig.put("lora_alpha", 8L);
    wantConfig.put("lora_dropout", 0.0);
    wantConfig.put("modules_to_save", null);
    wantConfig.put("peft_type", "LORA");
    wantConfig.put("r", 4L);
    wantConfig.put("rank_pattern", Map.of());
    wantConfig.put("revision", null);
    wantConfig.put("target_modules", modules);
    wantConfig.put("task_type", "CAUSAL_LM");
    wantConfig.put("use_dora", false);
    wantConfig.put("use_rslora", false);
    Map<String, Object> gotConfig = new java.util.TreeMap<>();
    config.forEach((k, v) -> gotConfig.put(k, v instanceof Number n && !(v instanceof Double) ? (Object) n.longValue()
        : v));
    assertEquals(wantConfig.toString(), gotConfig.toString());
    try (QwenVlModel policy = QwenVlModel.load(ckpt)) {
      policy.attachLora(org.vlmr1.model.LoraCheckpoint.read(resume));
      try (GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, rewards, data, "rec")) {
        t.restoreState(resume);
        StepMetrics third = t.step();
        assertEquals(3, third.step());
        assertEquals(straight.get(2).reward(), third.reward(), "same completions and rewards");
        assertEquals(straight.get(2).loss(), third.loss(), "same loss");
        try (PointerScope s = new PointerScope()) {
          for (Map.Entry<String, Tensor> e : policy.lora().namedParameters().entrySet()) {
            assertTrue(torch.equal(finalStraight.get(e.getKey()), e.getValue().detach()),
                e.getKey() + " differs after resume");
          }
        }
      }
    }
    finalStraight.values().forEach(Tensor::releaseReference);
  }
}
