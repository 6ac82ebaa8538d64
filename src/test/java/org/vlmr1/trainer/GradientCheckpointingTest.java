// --gradient_checkpointing in the GRPO trainer: one optimizer step with and without it, on the same checkpoint, seed
// and data, leaves the same gradient on every trainable tensor (float32, relative 1e-5): full fine-tuning with the
// vision tower training (Qwen2.5-VL and InternVL tiny), and LoRA with dropout 0.05 (the recompute replays the keyed
// masks, InternVL's mlp1 ones, keyed by the image slots, included).
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.internvl.InternVlTiny;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.reward.RewardFunction;

class GradientCheckpointingTest {
  private static final double RTOL = 1e-5;

  /** What one step left: its loss and gradient norm, and a copy of each trainable tensor's gradient. */
  private record StepGrads(double loss, double gradNorm, Map<String, Tensor> grads) {
    void release() {
      grads.values().forEach(Tensor::releaseReference);
    }
  }

  @Test
  void qwenFullFineTuningWithTheVisionTower(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("GradientCheckpointingTest qwen seed " + seed);
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(new QwenTiny.Spec(32, 3, 4, 2, 64, 2, 32, 2, seed), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    assertSameGradients(dir, ckpt, module, null, seed, InternVlTrainerTest.LENGTH);
  }

  @Test
  void qwenLoraWithDropout(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("GradientCheckpointingTest qwen lora seed " + seed);
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(new QwenTiny.Spec(32, 3, 4, 2, 64, 1, 32, 2, seed), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    assertSameGradients(dir, ckpt, module, new LoraConfig(4, 8, 0.05, LoraConfig.TaskType.CAUSAL_LM, null), seed,
        InternVlTrainerTest.LENGTH);
  }

  /**
   * LoRA with modules_to_save: a decoder layer's MLP trained in full as a copy (so the recompute of that layer must
   * read the copies, as the first pass did) and the tied head's copy, beside the adapters with dropout.
   */
  @Test
  void qwenLoraWithModulesToSaveInACheckpointedLayer(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("GradientCheckpointingTest qwen modules_to_save seed " + seed);
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(new QwenTiny.Spec(32, 3, 4, 2, 64, 1, 32, 2, seed), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    assertSameGradients(dir, ckpt, module, new LoraConfig(4, 8, 0.05, LoraConfig.TaskType.CAUSAL_LM, null,
        List.of("lm_head", "layers.1.mlp")), seed, InternVlTrainerTest.LENGTH);
  }

  @Test
  void internVlFullFineTuning(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("GradientCheckpointingTest internvl seed " + seed);
    Path ckpt = dir.resolve("tiny");
    InternVlTiny.write(new InternVlTiny.Spec(32, 2, 4, 2, 64, 1, 32, 2, 56, 2, seed), ckpt);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    assertSameGradients(dir, ckpt, module, null, seed, InternVlTrainerTest.LENGTH);
  }

  /**
   * LoRA with dropout on InternVL's default targets: mlp1's masks (keyed by image slot) replay in the recompute; with
   * an InternLM2 language model, so do the packed wqkv's (one mask and one x A^T shared by the q, k, v pieces).
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(org.vlmr1.module.internvl.InternVlConfig.LlmArch.class)
  void internVlLoraWithDropoutOnMlp1(org.vlmr1.module.internvl.InternVlConfig.LlmArch llm, @TempDir Path dir)
      throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("GradientCheckpointingTest internvl " + llm + " lora seed " + seed);
    Path ckpt = dir.resolve("tiny");
    InternVlTiny.write(new InternVlTiny.Spec(32, 2, 4, 2, 64, 1, 32, 2, 56, 2, seed), ckpt,
        org.vlmr1.module.internvl.InternVlConfig.NormType.LAYER_NORM, llm);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    assertSameGradients(dir, ckpt, module, new LoraConfig(4, 8, 0.05, LoraConfig.TaskType.CAUSAL_LM, null), seed,
        InternVlTrainerTest.LENGTH);
  }

  private static void assertSameGradients(Path dir, Path ckpt, VlmModule module, LoraConfig lora, long seed,
      RewardFunction reward) throws Exception {
    StepGrads plain = oneStep(dir.resolve("plain"), ckpt, module, lora, seed, reward, false);
    StepGrads checkpointed = oneStep(dir.resolve("checkpointed"), ckpt, module, lora, seed, reward, true);
    try (PointerScope s = new PointerScope()) {
      assertEquals(plain.loss(), checkpointed.loss(), RTOL * Math.abs(plain.loss()) + 1e-7, "loss");
      assertEquals(plain.gradNorm(), checkpointed.gradNorm(), RTOL * plain.gradNorm(), "gradient norm");
      assertTrue(plain.gradNorm() > 0, "a step with a gradient");
      assertEquals(plain.grads().keySet(), checkpointed.grads().keySet(), "trainable tensors with a gradient");
      List<String> bad = new ArrayList<>();
      int nonZero = 0;
      for (Map.Entry<String, Tensor> e : plain.grads().entrySet()) {
        Tensor want = e.getValue();
        Tensor got = checkpointed.grads().get(e.getKey());
        double scale = want.abs().max().item_double();
        double diff = got.sub(want).abs().max().item_double();
        nonZero += scale > 0 ? 1 : 0;
        if (!(diff <= RTOL * scale + 1e-12)) {
          bad.add(e.getKey() + ": max |diff| " + diff + " over max |grad| " + scale);
        }
      }
      assertTrue(bad.isEmpty(), "gradients differ with checkpointing: " + bad);
      // the comparison is not vacuous: most tensors got a gradient (with LoRA, B was set non-zero so A gets one)
      assertTrue(nonZero >= plain.grads().size() * 3 / 4, nonZero + " of " + plain.grads().size() + " non-zero");
    } finally {
      plain.release();
      checkpointed.release();
    }
  }

  /** A fresh policy, one GRPO step (no clipping, beta 0.04), and the gradients the loss backward left. */
  private static StepGrads oneStep(Path out, Path ckpt, VlmModule module, LoraConfig lora, long seed,
      RewardFunction reward, boolean checkpointing) throws Exception {
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).gradientAccumulationSteps(2)
        .maxCompletionLength(6).maxSteps(1).learningRate(1e-3).beta(lora != null ? 0.04 : 0).seed(seed)
        .maxGradNorm(1e9).gradientCheckpointing(checkpointing).outputDir(out).build();
    try (VlmModel policy = module.loadModel(ckpt)) {
      Map<String, Tensor> trainable = policy.namedParameters();
      if (lora != null) {
        LoraAdapters ad = policy.addLora(lora, module.visionModulesKeywords(), seed);
        try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
          // B starts at zero, which would leave A without a gradient: set it to small values drawn from the seed
          java.util.Random rnd = new java.util.Random(seed);
          for (String m : ad.modules()) {
            Tensor b = ad.b(m);
            float[] v = new float[(int) b.numel()];
            for (int i = 0; i < v.length; i++) {
              v[i] = (float) (0.05 * rnd.nextGaussian());
            }
            b.copy_(torch.tensor(v).reshape(b.size(0), b.size(1)));
          }
        }
        trainable = ad.namedParameters();
      }
      StepMetrics m;
      Map<String, Tensor> grads = new LinkedHashMap<>();
      try (GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(reward),
          GrpoTrainerTest.boxes(out.getParent(), 4), "rec"); PointerScope s = new PointerScope()) {
        m = t.step();
        trainable.forEach((k, v) -> {
          if (v.requires_grad() && v.grad().defined()) {
            Tensor g = v.grad().detach().clone();
            g.retainReference();
            grads.put(k, g);
          }
        });
      }
      assertTrue(!m.skipped() && Double.isFinite(m.loss()), m.toString());
      return new StepGrads(m.loss(), m.gradNorm(), grads);
    }
  }
}
