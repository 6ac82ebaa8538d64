// The GRPO trainer on a tiny random Qwen2.5-VL (TRL's test_train): a few steps log finite metrics and change every
// trainable parameter; frozen vision modules stay put; the configuration explains bad batch arithmetic.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.Example;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.reward.AccuracyReward;
import org.vlmr1.reward.FormatReward;

class GrpoTrainerTest {

  static List<Example> boxes(Path dir, int n) throws Exception {
    List<Example> out = new ArrayList<>();
    java.util.Random rnd = new java.util.Random(3);
    for (int i = 0; i < n; i++) {
      BufferedImage img = new BufferedImage(84, 56, BufferedImage.TYPE_INT_RGB);
      Graphics2D g = img.createGraphics();
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, 84, 56);
      int x = rnd.nextInt(50);
      int y = rnd.nextInt(30);
      g.setColor(Color.RED);
      g.fillRect(x, y, 20, 16);
      g.dispose();
      Path p = dir.resolve("img" + i + ".png");
      ImageIO.write(img, "png", p.toFile());
      out.add(new Example(String.valueOf(i), "Where is the red box?", List.of(p),
          "[" + x + ", " + y + ", " + (x + 20) + ", " + (y + 16) + "]", null, Map.of()));
    }
    return out;
  }

  static Map<String, Tensor> snapshot(org.vlmr1.model.VlmModel m) {
    Map<String, Tensor> s = new LinkedHashMap<>();
    m.namedParameters().forEach((k, v) -> {
      Tensor c = v.detach().clone();
      c.retainReference();
      s.put(k, c);
    });
    return s;
  }

  @Test
  void fewStepsChangeEveryTrainableParameter(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(5), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).gradientAccumulationSteps(2)
        .maxCompletionLength(6).maxSteps(2).learningRate(1e-2).beta(0.04).seed(7).outputDir(dir.resolve("run"))
        .build();
    try (QwenVlModel policy = QwenVlModel.load(ckpt); QwenVlModel ref = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, ref, List.of(new AccuracyReward(), new FormatReward()),
            boxes(dir, 6), "rec")) {
      Map<String, Tensor> before = snapshot(policy);
      List<StepMetrics> metrics = t.train();
      assertEquals(2, metrics.size());
      for (StepMetrics m : metrics) {
        assertFalse(m.skipped(), "step " + m.step());
        for (double v : new double[] {m.loss(), m.reward(), m.kl(), m.entropy(), m.gradNorm(), m.completionLength()}) {
          assertTrue(Double.isFinite(v), m.toString());
        }
        assertTrue(m.rewards().containsKey("accuracy") && m.rewards().containsKey("format"));
      }
      assertTrue(metrics.get(0).gradNorm() > 0, "the policy got a gradient");
      try (PointerScope s = new PointerScope()) {
        List<String> unchanged = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : policy.namedParameters().entrySet()) {
          if (org.bytedeco.pytorch.global.torch.equal(before.get(e.getKey()), e.getValue().detach())) {
            unchanged.add(e.getKey());
          }
        }
        assertTrue(unchanged.isEmpty(), "parameters left unchanged: " + unchanged);
      }
      before.values().forEach(Tensor::releaseReference);
    }
  }

  @Test
  void judgeFallBacksAndTheDebugTraceAreStepMetricsAndFiles(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(6), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(4)
        .maxSteps(2).learningRate(1e-3).beta(0).build();
    List<Example> data = new ArrayList<>();
    for (Example e : boxes(dir, 4)) {
      data.add(new Example(e.id(), e.problem(), e.images(), e.solution(), "llm", e.fields()));
    }
    Path log = dir.resolve("log/debug_log.txt");
    org.vlmr1.reward.RewardDebugLog trace = org.vlmr1.reward.RewardDebugLog.to(log.toString(),
        java.time.Clock.systemDefaultZone());
    try (QwenVlModel policy = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(new AccuracyReward(null, trace),
            new FormatReward(trace)), data, "rec")) {
      for (StepMetrics m : t.train()) {
        assertEquals(4.0, m.rewards().get(AccuracyReward.JUDGE_FALLBACKS), "no judge: every completion of step "
            + m.step() + " fell back, counted per step");
      }
    }
    String acc = java.nio.file.Files.readString(log);
    assertEquals(8, acc.split("(?m)^------------- ").length - 1, acc);
    assertTrue(acc.contains("accu_reward_method: llm\nimage_path: ['" + dir.resolve("img0.png") + "']\n"
        + "problem: Where is the red box?\n"), acc);
    assertTrue(acc.contains("\nSolution: <answer> " + data.get(0).solution() + " </answer>\n"), acc);
    String fmt = java.nio.file.Files.readString(dir.resolve("log/debug_log_format.txt"));
    assertEquals(2, fmt.split("(?m)^------------- ").length - 1, "one header per step's batch:\n" + fmt);
    assertEquals(8, fmt.split("(?m)^Has format: ").length - 1, fmt);
  }

  @Test
  void frozenVisionGetsNoUpdates(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(6), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(4)
        .maxSteps(1).learningRate(1e-2).beta(0).freezeVisionModules(true).build();
    try (QwenVlModel policy = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(new AccuracyReward()), boxes(dir, 4),
            "rec")) {
      Map<String, Tensor> before = snapshot(policy);
      t.train();
      try (PointerScope s = new PointerScope()) {
        for (Map.Entry<String, Tensor> e : policy.namedParameters().entrySet()) {
          if (e.getKey().startsWith("visual.")) {
            assertTrue(org.bytedeco.pytorch.global.torch.equal(before.get(e.getKey()), e.getValue().detach()),
                e.getKey() + " is frozen");
          }
        }
      }
      before.values().forEach(Tensor::releaseReference);
    }
  }

  /**
   * num_iterations = 2: the second step of a round reuses the first step's rollouts (same rewards, no generation)
   * with the rollout-time log-probs as the ratio's denominator, so the first step's update shows as a lower loss.
   */
  @Test
  void bufferedRolloutsAreReusedWithTheirOldLogProbs(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(8), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    // A reward with spread within every group, so the advantages are not all zero.
    org.vlmr1.reward.RewardFunction length = new org.vlmr1.reward.RewardFunction() {
      @Override
      public String name() {
        return "length";
      }

      @Override
      public double score(org.vlmr1.reward.RewardSample s) {
        return s.completion().length() / 10.0;
      }
    };
    List<Example> data = boxes(dir, 4);
    GrpoConfig.Builder b = GrpoConfig.builder().numGenerations(4).perDeviceTrainBatchSize(4)
        .maxCompletionLength(6).learningRate(1e-3).beta(0).seed(11);
    StepMetrics single;
    try (QwenVlModel policy = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(b.maxSteps(1).numIterations(1).build(), module, policy, null,
            List.of(length), data, "rec")) {
      single = t.step();
    }
    List<StepMetrics> m;
    try (QwenVlModel policy = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(b.maxSteps(3).numIterations(2).build(), module, policy, null,
            List.of(length), data, "rec")) {
      m = t.train();
    }
    System.out.println("single " + single + "\nbuffered " + m);
    assertTrue(single.rewardStd() > 0, "the test needs reward spread: " + single);
    assertEquals(single.reward(), m.get(0).reward(), 0, "the first round draws the same prompts and completions");
    assertEquals(single.loss(), m.get(0).loss(), 1e-5, "ratio 1 at the round's first step");
    assertEquals(0, m.get(0).loss(), 1e-5, "ratio 1 and zero-sum group advantages");
    assertEquals(m.get(0).reward(), m.get(1).reward(), 0, "step 2 reuses step 1's rollouts");
    assertEquals(m.get(0).completionLength(), m.get(1).completionLength(), 0);
    assertEquals(0, m.get(1).seconds().get("generate"), 0, "no generation inside a round");
    assertTrue(m.get(1).loss() < -1e-6, "step 1's update raised the surrogate objective on the same rollouts: "
        + m.get(1).loss());
    assertTrue(m.get(2).seconds().get("generate") > 0, "step 3 starts a new round");
    assertThrows(IllegalArgumentException.class, () -> GrpoConfig.builder().numGenerations(2).numIterations(0)
        .perDeviceTrainBatchSize(2).build());
  }

  /**
   * steps_per_generation = 2 x the accumulation steps: a round's second step trains on rollouts sampled before the
   * first step's update, so its ratio is against the rollout-time policy, not the current one (TRL >= 0.18). With
   * beta 0 and one whole group per step, a ratio of 1 makes the loss -mean(A) = 0 exactly; the stale rollouts' loss
   * is not.
   */
  @Test
  void laterStepsOfARoundUseTheRolloutTimeLogProbs(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(8), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    List<Example> data = boxes(dir, 4);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(4).perDeviceTrainBatchSize(4).stepsPerGeneration(2)
        .maxCompletionLength(6).learningRate(1e-2).beta(0).seed(11).maxSteps(2).build();
    List<StepMetrics> m;
    try (QwenVlModel policy = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(InternVlTrainerTest.LENGTH), data,
            "rec")) {
      m = t.train();
    }
    System.out.println("steps_per_generation 2: " + m);
    assertEquals(2, cfg.stepsPerRound());
    assertTrue(m.get(0).rewardStd() > 0 && m.get(1).rewardStd() > 0, "the test needs reward spread: " + m);
    assertEquals(0, m.get(1).seconds().get("generate"), 0, "step 2 trains on the round's second slice");
    assertEquals(0, m.get(0).loss(), 1e-6, "the round's first step: ratio 1, zero-sum advantages");
    assertTrue(Math.abs(m.get(1).loss()) > 1e-5, "step 2's ratio must see step 1's update: loss " + m.get(1).loss());
  }

  @Test
  void configurationErrorsExplainTheArithmetic() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GrpoConfig.builder().numGenerations(8).perDeviceTrainBatchSize(2).gradientAccumulationSteps(3).build());
    assertTrue(e.getMessage().contains("2 x 1 process x gradient_accumulation_steps 3 = 6"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> GrpoConfig.builder().numGenerations(1).build());
    assertEquals(1e-6 * 0.5, LrSchedulerType.LINEAR.lr(1e-6, 5, 10, 0), 1e-18);
    assertEquals(1e-6 * 0.5, LrSchedulerType.COSINE.lr(1e-6, 5, 10, 0), 1e-18);
    assertEquals(0.5e-6, LrSchedulerType.LINEAR.lr(1e-6, 1, 10, 0.2), 1e-18, "warm-up");
    List<Integer> order = RepeatRandomSampler.epoch(5, 3, 2, 1, 1, 0);
    assertEquals(12, order.size(), "2 chunks of 2 prompts x 3 generations; the last partial chunk is dropped");
    assertEquals(order.get(0), order.get(1));
    assertEquals(order.get(1), order.get(2));
  }

  /** An interrupted run resumed from its checkpoint continues exactly like the uninterrupted one. */
  /** Also in bf16, where the float32 master weights travel in the checkpoint. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
  void resumeContinuesBitForBit(boolean bf16, @TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(8), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    List<Example> data = boxes(dir, 5);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(4)
        .maxSteps(3).learningRate(5e-3).beta(0.04).seed(11).bf16(bf16).build();
    List<org.vlmr1.reward.RewardFunction> rewards = List.of(new AccuracyReward(), InternVlTrainerTest.LENGTH);
    List<StepMetrics> straight;
    Map<String, Tensor> finalStraight;
    try (QwenVlModel policy = QwenVlModel.load(ckpt); QwenVlModel ref = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, ref, rewards, data, "rec")) {
      straight = t.train();
      finalStraight = snapshot(policy);
      for (StepMetrics m : straight) {
        assertTrue(Double.isFinite(m.loss()) && Double.isFinite(m.gradNorm()) && !m.skipped(), m.toString());
      }
      assertEquals(bf16 ? org.bytedeco.pytorch.global.torch.ScalarType.BFloat16
          : org.bytedeco.pytorch.global.torch.ScalarType.Float,
          policy.namedParameters().get("model.embed_tokens.weight").scalar_type().intern());
      try (QwenVlModel init = QwenVlModel.load(ckpt); PointerScope sc = new PointerScope()) {
        if (bf16) {
          init.castTo(org.bytedeco.pytorch.global.torch.ScalarType.BFloat16);
        }
        assertFalse(org.bytedeco.pytorch.global.torch.equal(init.namedParameters().get("model.norm.weight"),
            finalStraight.get("model.norm.weight")), "training moved the parameters");
      }
    }
    Path run = dir.resolve("run");
    RunWriter writer = new RunWriter(run);
    try (QwenVlModel policy = QwenVlModel.load(ckpt); QwenVlModel ref = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, ref, rewards, data, "rec")) {
      t.step();
      t.step();
      writer.checkpoint(policy, t, 2, List.of(), 0); // then the process "dies"
    }
    Path resume = RunWriter.latestCheckpoint(run);
    assertEquals("checkpoint-2", resume.getFileName().toString());
    try (QwenVlModel policy = QwenVlModel.load(resume); QwenVlModel ref = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, ref, rewards, data, "rec")) {
      t.restoreState(resume);
      StepMetrics third = t.step();
      assertEquals(3, third.step());
      assertEquals(straight.get(2).reward(), third.reward(), "same completions and rewards");
      assertEquals(straight.get(2).loss(), third.loss(), "same loss");
      try (PointerScope s = new PointerScope()) {
        for (Map.Entry<String, Tensor> e : policy.namedParameters().entrySet()) {
          assertTrue(org.bytedeco.pytorch.global.torch.equal(finalStraight.get(e.getKey()), e.getValue().detach()),
              e.getKey() + " differs after resume");
        }
      }
    }
    finalStraight.values().forEach(Tensor::releaseReference);
  }

  static long rssBytes() throws Exception {
    for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS");
  }

  /** Every step runs in PointerScopes: resident memory stays flat over many steps. */
  @Test
  @org.junit.jupiter.api.Tag("slow")
  void residentMemoryStaysFlat(@TempDir Path dir) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isReadable(Path.of("/proc/self/status")));
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(2), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(4)
        .maxSteps(40).learningRate(1e-3).beta(0.04).seed(1).build();
    try (QwenVlModel policy = QwenVlModel.load(ckpt); QwenVlModel ref = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, ref, List.of(new AccuracyReward()), boxes(dir, 6),
            "rec")) {
      for (int i = 0; i < 8; i++) {
        t.step();
      }
      System.gc();
      long base = rssBytes();
      long peak = base;
      for (int i = 0; i < 32; i++) {
        t.step();
        peak = Math.max(peak, rssBytes());
      }
      System.gc();
      long end = rssBytes();
      System.out.printf("RSS after warm-up %.1f MiB, after 32 more steps %.1f MiB (peak %.1f MiB)%n",
          base / 1048576.0, end / 1048576.0, peak / 1048576.0);
      assertTrue(end - base < 100L << 20, "resident memory grew by " + (end - base) / 1048576 + " MiB");
    }
  }

  /** --check_devices: a trainer on the CPU passes the check for "cpu" and fails it, naming a tensor, for "cuda". */
  @Test
  void deviceCheckNamesATensorOffTheDevice(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(4), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(2).maxCompletionLength(3)
        .maxSteps(1).beta(0).outputDir(dir.resolve("run")).build();
    try (QwenVlModel policy = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(new FormatReward()), boxes(dir, 2), "rec")) {
      t.step();
      t.checkDevices("cpu");
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.checkDevices("cuda"));
      assertTrue(e.getMessage().contains("policy ") && e.getMessage().contains("is on cpu, not on the configured "
          + "device cuda"), e.getMessage());
    }
  }
}
