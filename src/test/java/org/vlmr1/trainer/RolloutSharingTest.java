// A GRPO micro-batch's rollouts through the generation engine (issue 15) equal the old path's: the G rows of a prompt
// share one prefill, --max_generation_rows splits the micro-batch (here through a prompt's group), text-only and image
// prompts mix, and rows draw as their global sample index wherever their slice starts.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.Example;
import org.vlmr1.data.RgbImage;
import org.vlmr1.distributed.SingleProcess;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.qwen.QwenTiny;

class RolloutSharingTest {
  @Test
  void sharedSlicedAndOldPathRolloutsAreTheSame(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(11), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    List<Example> examples = new ArrayList<>(GrpoTrainerTest.boxes(dir, 2));
    examples.add(1, new Example("text", "What is two plus two?", List.of(), "4", null, Map.of()));
    int g = 4;
    List<Example> batch = new ArrayList<>(); // the sampler's order: each example G times in a row
    for (Example e : examples) {
      for (int i = 0; i < g; i++) {
        batch.add(e);
      }
    }
    GrpoConfig.Builder b = GrpoConfig.builder().numGenerations(g).perDeviceTrainBatchSize(batch.size())
        .maxCompletionLength(8).maxSteps(1).seed(5).freezeVisionModules(true).outputDir(dir.resolve("run"));
    try (VlmModel policy = module.loadModel(ckpt)) {
      module.postModelInit(policy);
      List<Rollout> old = rollouts(b.rollout(RolloutOptions.oldPath()).build(), module, policy, batch);
      for (RolloutOptions o : List.of(RolloutOptions.DEFAULT, RolloutOptions.DEFAULT.withMaxGenerationRows(3),
          RolloutOptions.DEFAULT.withMaxGenerationRows(1))) {
        List<Rollout> engine = rollouts(b.rollout(o).build(), module, policy, batch);
        assertEquals(old.size(), engine.size());
        for (int m = 0; m < old.size(); m++) {
          Rollout a = old.get(m);
          Rollout e = engine.get(m);
          assertEquals(a.firstSample(), e.firstSample());
          for (int r = 0; r < a.completionIds().length; r++) {
            assertArrayEquals(a.completionIds()[r], e.completionIds()[r], o + ": row " + r + " ids");
            assertArrayEquals(a.completionMask()[r], e.completionMask()[r], o + ": row " + r + " mask");
          }
          assertEquals(a.texts(), e.texts());
        }
      }
      // Two micro-batches of 6 split the middle prompt's group 2 | 2: each shares within its own micro-batch, and
      // every row still draws as its global sample index, so the rows equal the one-micro-batch rollout's.
      List<Rollout> split = rollouts(b.rollout(RolloutOptions.DEFAULT).perDeviceTrainBatchSize(6)
          .gradientAccumulationSteps(2).build(), module, policy, batch);
      assertEquals(2, split.size());
      for (int m = 0; m < 2; m++) {
        assertEquals(6L * m, split.get(m).firstSample());
        for (int r = 0; r < 6; r++) {
          assertArrayEquals(old.get(0).completionIds()[6 * m + r], split.get(m).completionIds()[r],
              "micro-batch " + m + " row " + r);
        }
      }
      // The G rows of a prompt drew different completions (the draws are per row, not per prompt).
      long[][] ids = old.get(0).completionIds();
      assertTrue(!java.util.Arrays.equals(ids[0], ids[1]) || !java.util.Arrays.equals(ids[1], ids[2]),
          "the rows of one prompt all drew the same completion");
    }
  }

  /**
   * With LoRA the tower is frozen (no adapters, base frozen) even without --freeze_vision_modules, so a rollout
   * carries the tower's features once for every pass; before, each pass ran the tower again.
   */
  @Test
  void loraRolloutsCarryTheTowerOutputOnce(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(12), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    List<Example> batch = new ArrayList<>();
    for (Example e : GrpoTrainerTest.boxes(dir, 2)) {
      batch.add(e);
      batch.add(e);
    }
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(4)
        .maxSteps(1).seed(5).outputDir(dir.resolve("run")).build();
    try (VlmModel policy = module.loadModel(ckpt)) {
      module.postModelInit(policy);
      List<Rollout> trainable = rollouts(cfg, module, policy, batch);
      assertTrue(!trainable.get(0).multimodal().containsKey(VlmModel.IMAGE_EMBEDS),
          "a trainable tower's features are not cached");
      trainable.forEach(Rollout::close);
      policy.addLora(new org.vlmr1.model.LoraConfig(4, 8, 0, org.vlmr1.model.LoraConfig.TaskType.CAUSAL_LM, null),
          module.visionModulesKeywords(), 3);
      List<Rollout> frozen = rollouts(cfg, module, policy, batch);
      assertTrue(frozen.get(0).multimodal().containsKey(VlmModel.IMAGE_EMBEDS),
          "with LoRA the frozen tower's features travel with the rollout");
      frozen.forEach(Rollout::close);
    }
  }

  @Test
  void groupsAreByPromptTextAndDecodedImages() {
    RgbImage a = new RgbImage(1, 1, new byte[3]);
    RgbImage sameBytes = new RgbImage(1, 1, new byte[3]);
    PromptGroups p = PromptGroups.of(List.of("x", "y", "x", "x", "x"),
        List.of(List.of(a), List.of(a), List.of(a), List.of(sameBytes), List.of()));
    assertArrayEquals(new int[] {0, 1, 3, 4}, p.distinct());
    assertArrayEquals(new int[] {0, 1, 0, 2, 3}, p.rowPrompt());
    assertEquals(List.of("x", "y", "x", "x"), p.pick(List.of("x", "y", "x", "x", "x")));
  }

  @Test
  void negativeRowCapIsRefusedByName() {
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> GrpoConfig.builder().maxGenerationRows(-1).build());
    assertTrue(e.getMessage().contains("--max_generation_rows"), e.getMessage());
  }

  /**
   * A rollout's multimodal tensors are the ones generation put on the model's device, reused by every later pass:
   * each loss pass gets those very tensors (the same storage), so the images cross to the device once per rollout.
   * The old code kept them on the Java heap and made new ones (a copy to the device) for each pass.
   */
  @Test
  void everyPassReusesTheRolloutsDeviceTensors(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(13), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(3)
        .maxSteps(1).seed(5).freezeVisionModules(true).outputDir(dir.resolve("run")).build();
    List<Example> batch = new ArrayList<>();
    for (Example e : GrpoTrainerTest.boxes(dir, 2)) {
      batch.add(e);
      batch.add(e);
    }
    try (VlmModel policy = module.loadModel(ckpt)) {
      module.postModelInit(policy);
      List<Rollout> rs = rollouts(cfg, module, policy, batch);
      Rollout r = rs.get(0);
      assertTrue(r.multimodal().containsKey(VlmModel.IMAGE_EMBEDS) && r.multimodal().containsKey("pixel_values"),
          r.multimodal().keySet().toString());
      for (int pass = 0; pass < 3; pass++) {
        try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope()) {
          Rollout.LossInputs in = Rollout.lossInputs(r, policy.device());
          for (String k : r.multimodal().keySet()) {
            assertEquals(r.multimodal().get(k).data_ptr().address(), in.multimodal().get(k).data_ptr().address(),
                "pass " + pass + ": " + k + " is the rollout's own tensor");
          }
          int p = in.promptLength();
          assertTrue(org.bytedeco.pytorch.global.torch.equal(in.completionIds(), in.ids().narrow(1, p,
              in.completionLength())), "the completion ids are the pass's ids after the prompt");
        }
      }
      // the round owns those references: closing it releases each exactly once
      Map<String, Integer> before = new java.util.LinkedHashMap<>();
      for (Rollout x : rs) {
        x.multimodal().forEach((k, t) -> before.put(x.firstSample() + " " + k, t.referenceCount()));
      }
      new Round(rs, null, null, 0, true, null, null, Map.of(), null, 0).close();
      for (Rollout x : rs) {
        x.multimodal().forEach((k, t) -> {
          int was = before.get(x.firstSample() + " " + k);
          int now = t.referenceCount(); // JavaCPP: -1 once the last reference went and the tensor was freed
          assertTrue(now == was - 1 || was == 1 && now == -1, k + " released once: " + was + " -> " + now);
        });
      }
    }
  }

  private static List<Rollout> rollouts(GrpoConfig cfg, VlmModule module, VlmModel policy, List<Example> batch) {
    try (RolloutStage stage = new RolloutStage(cfg, module, policy, "rec", SingleProcess.INSTANCE)) {
      return stage.generate(batch, 0);
    }
  }
}
