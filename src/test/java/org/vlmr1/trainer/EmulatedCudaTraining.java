// Two GRPO steps whose kernels are the CUDA twins called from the trainer: generation's top-p step and inverse-CDF
// draw, the old and reference log-probs, the group advantages and the fused loss from hidden states. Started by
// kernels.CudaProviderEmulationTest in a JVM where JavaCPP loaded CudaNative's glue linked with the twins' source
// built for the CPU (src/test/cuda/emu); the CUDA provider is registered for CPU tensors, so the trainer runs the
// twins on host memory. The same two steps with the CPU's kernels are the oracle: the same completions and rewards
// (the sampler's twins are exact), the loss and gradient norm within 1e-4. Exits 0 when they match.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.data.Example;
import org.vlmr1.kernels.GrpoHiddenLossResult;
import org.vlmr1.kernels.GrpoLossConfig;
import org.vlmr1.kernels.GrpoLossResult;
import org.vlmr1.kernels.KernelProvider;
import org.vlmr1.kernels.KernelProviders;
import org.vlmr1.kernels.ScaleRewards;
import org.vlmr1.kernels.TokenLogProbs;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.reward.AccuracyReward;
import org.vlmr1.reward.RewardFunction;

final class EmulatedCudaTraining {
  private static final double TOLERANCE = 1e-4;

  /** args: the seed, a scratch folder. */
  public static void main(String[] args) throws Exception {
    long seed = Long.parseLong(args[0]);
    Path dir = Path.of(args[1]);
    assertTrue(KernelProviders.cudaKernelsLoaded(), "the -gpu natives did not load: " + KernelProviders.describeCuda());
    Counting cuda = new Counting(KernelProviders.forDeviceType("cuda"));
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(seed), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    List<Example> data = GrpoTrainerTest.boxes(dir, 5);
    // top_p < 1 so that generation runs the top-p twin; num_iterations 2 so that step 2 reuses step 1's rollouts with
    // their old log-probs; beta > 0 for the reference's.
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(4)
        .maxSteps(2).learningRate(5e-3).beta(0.04).seed(seed).freezeVisionModules(true).numIterations(2).topP(0.9)
        .build();
    List<RewardFunction> rewards = List.of(new AccuracyReward(), InternVlTrainerTest.LENGTH);
    List<StepMetrics> cpu = steps(cfg, module, ckpt, rewards, data);
    KernelProvider before = KernelProviders.register("cpu", cuda);
    List<StepMetrics> twins;
    try {
      twins = steps(cfg, module, ckpt, rewards, data);
    } finally {
      KernelProviders.register("cpu", before);
    }
    for (int i = 0; i < cpu.size(); i++) {
      StepMetrics a = cpu.get(i);
      StepMetrics b = twins.get(i);
      System.out.println("EmulatedCudaTraining step " + b.step() + ": loss " + a.loss() + " (CPU kernels) "
          + b.loss() + " (CUDA twins), grad norm " + a.gradNorm() + " / " + b.gradNorm());
      assertFalse(b.skipped(), b.toString());
      assertEquals(a.reward(), b.reward(), "step " + b.step() + ": the same completions and rewards");
      assertEquals(a.completionLength(), b.completionLength(), "step " + b.step() + ": completion length");
      assertClose("step " + b.step() + " loss", a.loss(), b.loss());
      assertClose("step " + b.step() + " grad norm", a.gradNorm(), b.gradNorm());
      assertClose("step " + b.step() + " kl", a.kl(), b.kl());
    }
    for (String call : List.of("topPFilter", "sampleDraw", "tokenLogProbs", "groupAdvantages",
        "grpoLossFromHidden")) {
      assertTrue(cuda.calls(call) > 0, call + " never reached the CUDA twins: " + cuda.calls);
    }
    System.out.println("EmulatedCudaTraining: 2 steps match, seed " + seed + "; twin calls " + new TreeMap<>(
        cuda.calls));
  }

  private static void assertClose(String what, double expected, double actual) {
    assertTrue(Math.abs(expected - actual) <= TOLERANCE * Math.max(1, Math.abs(expected)),
        what + ": " + actual + " vs the CPU kernels' " + expected);
  }

  private static List<StepMetrics> steps(GrpoConfig cfg, VlmModule module, Path ckpt, List<RewardFunction> rewards,
      List<Example> data) throws Exception {
    List<StepMetrics> out = new ArrayList<>();
    try (VlmModel policy = QwenVlModel.load(ckpt); VlmModel ref = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, ref, rewards, data, "rec")) {
      out.add(t.step());
      out.add(t.step());
    }
    return out;
  }

  /** Delegates to the CUDA provider and counts what the trainer called. */
  private static final class Counting implements KernelProvider {
    private final KernelProvider cuda;
    final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    Counting(KernelProvider cuda) {
      this.cuda = cuda;
    }

    int calls(String name) {
      AtomicInteger n = calls.get(name);
      return n == null ? 0 : n.get();
    }

    private void count(String name) {
      calls.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
    }

    @Override
    public String describe() {
      return cuda.describe();
    }

    @Override
    public TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy) {
      count("tokenLogProbs");
      return cuda.tokenLogProbs(logits, targets, temperature, withEntropy);
    }

    @Override
    public Tensor groupAdvantages(Tensor rewards, int groupSize, ScaleRewards scale) {
      count("groupAdvantages");
      return cuda.groupAdvantages(rewards, groupSize, scale);
    }

    @Override
    public GrpoLossResult grpoLoss(Tensor logits, Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref,
        GrpoLossConfig cfg, Tensor gradOut) {
      count("grpoLoss");
      return cuda.grpoLoss(logits, ids, mask, adv, old, ref, cfg, gradOut);
    }

    @Override
    public GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor weight, Tensor ids, Tensor mask, Tensor adv,
        Tensor old, Tensor ref, GrpoLossConfig cfg, int chunkRows) {
      count("grpoLossFromHidden");
      return cuda.grpoLossFromHidden(hidden, weight, ids, mask, adv, old, ref, cfg, chunkRows);
    }

    @Override
    public Tensor sampleDraw(Tensor w, Tensor u) {
      count("sampleDraw");
      return cuda.sampleDraw(w, u);
    }

    @Override
    public Tensor topPFilter(Tensor w, double topP) {
      count("topPFilter");
      return cuda.topPFilter(w, topP);
    }
  }
}
