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

  @Test
  void onlyAdaptersTrainAndTheReferenceIsTheBaseModel(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("LoraTrainingTest seed " + seed);
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, seed), ckpt);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 12544L));
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
        List<String> changedBase = new ArrayList<>();
        policy.namedParameters().forEach((k, v) -> {
          if (!torch.equal(baseBefore.get(k), v.detach())) {
            changedBase.add(k);
          }
        });
        assertTrue(changedBase.isEmpty(), "base weights changed: " + changedBase);
        List<String> unchanged = new ArrayList<>();
        ad.namedParameters().forEach((k, v) -> {
          if (torch.equal(adaptersBefore.get(k), v.detach())) {
            unchanged.add(k);
          }
        });
        assertTrue(unchanged.isEmpty(), "adapter tensors left unchanged: " + unchanged);
        // the reference pass (adapters off) is the base model's forward, bit for bit
        Tensor ids = torch.tensor(new long[] {151644, 872, 198, 3838, 374, 279, 3691, 30}).reshape(1, 8);
        Tensor want = base.forward(ids, null, Map.of(), true).logits();
        Tensor ref = ad.withAdaptersOff(() -> policy.forward(ids, null, Map.of(), true).logits());
        Tensor adapted = policy.forward(ids, null, Map.of(), true).logits();
        assertTrue(torch.equal(want, ref), "adapters off = base model");
        assertFalse(torch.equal(want, adapted), "adapters on differ");
      }
      baseBefore.values().forEach(Tensor::releaseReference);
      adaptersBefore.values().forEach(Tensor::releaseReference);
    }
  }

  @Test
  void aSecondReferenceCopyIsRefusedWithLora(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 2), ckpt);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(2).maxSteps(1).build();
    try (QwenVlModel policy = QwenVlModel.load(ckpt); QwenVlModel ref = QwenVlModel.load(ckpt)) {
      policy.addLora(LoraConfig.defaults(), module.visionModulesKeywords(), 1);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new GrpoTrainer(cfg, module,
          policy, ref, List.of(new FormatReward()), GrpoTrainerTest.boxes(dir, 2), "rec"));
      assertTrue(e.getMessage().contains("adapters off"), e.getMessage());
    }
  }
}
