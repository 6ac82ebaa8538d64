// The GRPO trainer on a tiny random InternVL (Qwen2 LLM) through the module contract alone, next to the Qwen smoke
// test: finite metrics, every trainable parameter changed, the vision tower untouched when frozen (mlp1 still trains).
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.internvl.InternVlTiny;
import org.vlmr1.reward.AccuracyReward;
import org.vlmr1.reward.FormatReward;

class InternVlTrainerTest {
  /** A reward that varies between random completions (their length), so advantages are never all zero. */
  static final org.vlmr1.reward.RewardFunction LENGTH = new org.vlmr1.reward.RewardFunction() {
    @Override
    public String name() {
      return "chars";
    }

    @Override
    public double score(org.vlmr1.reward.RewardSample s) {
      return s.completion().length() / 10.0;
    }
  };

  @Test
  void fewStepsChangeEveryTrainableParameter(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    InternVlTiny.write(new InternVlTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 56, 2, 5), ckpt);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    assertEquals("internvl", module.vlmKey());
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).gradientAccumulationSteps(2)
        .maxCompletionLength(6).maxSteps(2).learningRate(1e-2).beta(0.04).seed(7).outputDir(dir.resolve("run"))
        .build();
    try (VlmModel policy = module.loadModel(ckpt); VlmModel ref = module.loadModel(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, ref, List.of(new AccuracyReward(), LENGTH),
            GrpoTrainerTest.boxes(dir, 6), "rec")) {
      Map<String, Tensor> before = GrpoTrainerTest.snapshot(policy);
      List<StepMetrics> metrics = t.train();
      assertEquals(2, metrics.size());
      for (StepMetrics m : metrics) {
        assertFalse(m.skipped(), "step " + m.step());
        for (double v : new double[] {m.loss(), m.reward(), m.kl(), m.entropy(), m.gradNorm(), m.completionLength()}) {
          assertTrue(Double.isFinite(v), m.toString());
        }
      }
      try (PointerScope s = new PointerScope()) {
        List<String> unchanged = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : policy.namedParameters().entrySet()) {
          if (torch.equal(before.get(e.getKey()), e.getValue().detach())) {
            unchanged.add(e.getKey());
          }
        }
        assertTrue(unchanged.isEmpty(), "parameters left unchanged: " + unchanged);
      }
      before.values().forEach(Tensor::releaseReference);
    }
  }

  @Test
  void frozenVisionTowerStaysPutWhileTheProjectorTrains(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    InternVlTiny.write(new InternVlTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 56, 2, 6), ckpt);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(4)
        .maxSteps(1).learningRate(1e-2).beta(0).freezeVisionModules(true).build();
    try (VlmModel policy = module.loadModel(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(new FormatReward(), LENGTH),
            GrpoTrainerTest.boxes(dir, 4), "rec")) {
      Map<String, Tensor> before = GrpoTrainerTest.snapshot(policy);
      t.train();
      try (PointerScope s = new PointerScope()) {
        for (Map.Entry<String, Tensor> e : policy.namedParameters().entrySet()) {
          boolean same = torch.equal(before.get(e.getKey()), e.getValue().detach());
          if (e.getKey().startsWith("vision_model.")) {
            assertTrue(same, e.getKey() + " is frozen");
          } else if (e.getKey().startsWith("mlp1.")) {
            assertFalse(same, e.getKey() + " (the projector) trains");
          }
        }
      }
      before.values().forEach(Tensor::releaseReference);
    }
  }
}
