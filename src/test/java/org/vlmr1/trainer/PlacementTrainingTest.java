// GRPO training placed on a device that is not the CPU (issue 17's --device), on libtorch's lazy device as the
// stand-in for CUDA (model/LazyDevice): policy and reference (or the LoRA adapters, the reference then being the
// adapters-off pass) moved there before the trainer builds AdamW; the rollout batches, the loss inputs, the
// advantages, the old log-probs (num_iterations 2) and the GRPO loss on the device, rewards on the host. Every
// parameter and gradient stays there (--check_devices), the steps give the CPU's completions, rewards and losses,
// eval gives the CPU's answers, and the weights save from the device. The vision tower is frozen: the lazy backend
// cannot run its backward (a view op it does not implement), which CUDA runs. Not covered by this stand-in: AdamW's
// state in a checkpoint (the lazy backend can neither serialise it nor be an InputArchive's map_location, which takes
// CPU, CUDA, HPU and privateuseone; TrainerCheckpoint.restore maps it onto the parameters' device). Each draw is
// among four favoured ids (favour), so that the backends' ~3e-7 logit differences cannot flip it.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vlmr1.data.Example;
import org.vlmr1.kernels.KernelProvider;
import org.vlmr1.kernels.KernelProviders;
import org.vlmr1.kernels.Devices;
import org.vlmr1.model.GenerationOptions;
import org.vlmr1.model.LazyDevice;
import org.vlmr1.model.LoraConfig;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.reward.AccuracyReward;
import org.vlmr1.reward.RewardFunction;

class PlacementTrainingTest {
  private static final double LOSS_TOLERANCE = 1e-4;

  /** The policy (with LoRA adapters when asked, A from seed 5) on {@code device}. */
  private static VlmModel policy(Path ckpt, boolean lora, Device device) throws Exception {
    QwenVlModel m = QwenVlModel.load(ckpt);
    if (lora) {
      m.addLora(new LoraConfig(4, 8, 0, LoraConfig.TaskType.CAUSAL_LM, null), List.of("visual"), 5);
    }
    m.moveTo(device);
    return m;
  }

  private static VlmModel reference(Path ckpt, boolean lora, Device device) throws Exception {
    if (lora) {
      return null; // the policy with its adapters off
    }
    QwenVlModel m = QwenVlModel.load(ckpt);
    m.moveTo(device);
    return m;
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void stepsOnAnotherDeviceMatchTheCpu(boolean lora, @TempDir Path dir) throws Exception {
    Device lazy = LazyDevice.get();
    Assumptions.assumeTrue(lazy != null, "this libtorch does not export the lazy TorchScript backend");
    long seed = new java.util.Random().nextLong();
    System.out.println("PlacementTrainingTest seed " + seed + " lora " + lora);
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(seed), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    List<Example> data = GrpoTrainerTest.boxes(dir, 5);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(4)
        .maxSteps(2).learningRate(5e-3).beta(0.04).seed(seed).freezeVisionModules(true)
        .numIterations(lora ? 2 : 1) // 2: step 2 reuses step 1's rollouts with their old log-probs
        .rollout(new RolloutOptions(0, true, GenerationOptions.DEFAULT.withLogitBias(
            favour(module.eosTokenIds()[0], new java.util.Random(seed)))))
        .build();
    List<RewardFunction> rewards = List.of(new AccuracyReward(), InternVlTrainerTest.LENGTH);
    List<StepMetrics> cpu = new ArrayList<>();
    try (VlmModel policy = policy(ckpt, lora, Devices.cpu()); VlmModel ref = reference(ckpt, lora, Devices.cpu());
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, ref, rewards, data, "rec")) {
      cpu.add(t.step());
      cpu.add(t.step());
    }
    List<StepMetrics> there = new ArrayList<>();
    String on = "lazy:0";
    KernelProvider before = KernelProviders.register("lazy", new HostCompositeProvider(lazy));
    try {
      trainThere(cfg, module, ckpt, lora, lazy, rewards, data, dir, on, there);
    } finally {
      KernelProviders.register("lazy", before);
    }
    for (int i = 0; i < there.size(); i++) {
      StepMetrics a = cpu.get(i);
      StepMetrics b = there.get(i);
      System.out.println("PlacementTrainingTest step " + b.step() + " loss cpu " + a.loss() + " device " + b.loss());
      assertFalse(b.skipped(), b.toString());
      assertEquals(a.step(), b.step());
      assertEquals(a.reward(), b.reward(), "step " + b.step() + ": the same completions and rewards");
      assertTrue(Math.abs(a.loss() - b.loss()) <= LOSS_TOLERANCE * Math.max(1, Math.abs(a.loss())),
          "step " + b.step() + " loss " + b.loss() + " vs the CPU's " + a.loss());
      assertTrue(Math.abs(a.gradNorm() - b.gradNorm()) <= LOSS_TOLERANCE * Math.max(1, a.gradNorm()),
          "step " + b.step() + " grad norm " + b.gradNorm() + " vs the CPU's " + a.gradNorm());
    }
  }

  /**
   * Lifts four ids per completion position (EOS and three random ones) 30 above the rest, so each draw is among
   * those four. A tiny random model's logits are nearly flat over ~150,000 ids, and the lazy backend's differ from
   * the CPU's by ~3e-7: a draw that lands that close to a CDF boundary picks a neighbouring id on one side (about
   * one run in 60 of this test failed so). Among four ids ~0.25 apart in the CDF that takes ~1e-6 per draw; the other
   * ids' weights, e^-30 each, move no boundary that far. The loss still uses the model's own logits.
   */
  private static GenerationOptions.LogitBias favour(long eos, java.util.Random rnd) {
    long[][] ids = new long[8][];
    for (int t = 0; t < ids.length; t++) {
      ids[t] = new long[] {eos, rnd.nextInt(150_000), rnd.nextInt(150_000), rnd.nextInt(150_000)};
    }
    return (logits, rows, t) -> {
      Tensor out = logits.clone();                                                          // (B', V)
      for (long id : ids[t % ids.length]) {
        out.narrow(1, id, 1).add_(new Scalar(30.0));
      }
      return out;
    };
  }

  /** Two steps on {@code lazy} (checking devices after each); without LoRA the weights saved from the device. */
  private static void trainThere(GrpoConfig cfg, VlmModule module, Path ckpt, boolean lora, Device lazy,
      List<RewardFunction> rewards, List<Example> data, Path dir, String on, List<StepMetrics> there)
      throws Exception {
    try (VlmModel policy = policy(ckpt, lora, lazy); VlmModel ref = reference(ckpt, lora, lazy);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, ref, rewards, data, "rec")) {
      there.add(t.step());
      t.checkDevices(on); // parameters, their gradients, the reference
      there.add(t.step());
      t.checkDevices(on);
      if (!lora) {
        Path saved = dir.resolve("saved-from-device");
        policy.save(saved); // through the host, one tensor at a time
        try (VlmModel back = QwenVlModel.load(saved); PointerScope s = new PointerScope()) {
          policy.namedParameters().forEach((k, v) -> assertTrue(torch.equal(v.detach().cpu(),
              back.namedParameters().get(k)), k + " saved from the device"));
        }
      }
    }
  }

  /** eval (RecEvaluator) on the device: its greedy generations and scores are the CPU's. */
  @org.junit.jupiter.api.Test
  void evaluationOnAnotherDeviceMatchesTheCpu(@TempDir Path dir) throws Exception {
    Device lazy = LazyDevice.get();
    Assumptions.assumeTrue(lazy != null, "this libtorch does not export the lazy TorchScript backend");
    long seed = new java.util.Random().nextLong();
    System.out.println("PlacementTrainingTest eval seed " + seed);
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(seed), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    List<Example> data = GrpoTrainerTest.boxes(dir, 3);
    RecEvaluator.Result cpu;
    RecEvaluator.Result there;
    try (VlmModel m = policy(ckpt, false, Devices.cpu())) {
      cpu = RecEvaluator.evaluate(module, m, data, "rec", 2, 5, true);
    }
    try (VlmModel m = policy(ckpt, false, lazy)) {
      there = RecEvaluator.evaluate(module, m, data, "rec", 2, 5, true);
    }
    assertEquals(cpu.n(), there.n());
    for (int i = 0; i < cpu.samples().size(); i++) {
      assertEquals(cpu.samples().get(i).toJson(), there.samples().get(i).toJson(), "example " + i);
    }
  }
}
