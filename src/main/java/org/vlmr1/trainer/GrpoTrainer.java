// The GRPO trainer (VLM-R1-SPEC.md 4.3-4.4), stages in the order they run: a generation round generates every
// micro-batch of one optimizer step (or several with steps_per_generation), scores them and group-normalises the
// advantages over the round (RoundScoring); each step then runs the fused GRPO loss micro-batch by micro-batch from the
// hidden states of completion positions only, backward, reduce and clip, AdamW at the scheduled rate. Data parallel:
// the sampler's stream is sliced across ranks as accelerate does (consecutive per-device batches to ranks 0..W-1),
// rewards are gathered before the group statistics, each rank keeps its slice of the advantages, gradients are summed
// across ranks before clipping, metrics are reduced; one process is the group of one. Checkpoint state:
// TrainerCheckpoint; stage 1: RolloutStage; stage 2: RoundScoring; the loop around the steps: TrainingLoop.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.data.Example;
import org.vlmr1.distributed.Collectives;
import org.vlmr1.distributed.GradientReducer;
import org.vlmr1.distributed.OptimizerSharding;
import org.vlmr1.distributed.Replicas;
import org.vlmr1.distributed.SingleProcess;
import org.vlmr1.kernels.GrpoHiddenLossResult;
import org.vlmr1.kernels.GrpoKernels;
import org.vlmr1.model.CheckpointedPass;
import org.vlmr1.kernels.Devices;
import org.vlmr1.model.LoraAdapters;
import org.vlmr1.model.LoraDropout;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.VlmModule;
import org.vlmr1.reward.RewardFunction;
import org.vlmr1.reward.RewardScorer;

/** Trains a policy with GRPO. Build it (and the models) outside any PointerScope; close it to free the optimizer. */
public final class GrpoTrainer implements AutoCloseable {
  private final GrpoConfig cfg;
  private final VlmModule module;
  private final VlmModel policy;
  private final VlmModel reference;     // null with LoRA: the reference pass is the policy with adapters off
  private final LoraAdapters lora;      // the policy's adapters (--use_peft), or null
  private final RewardScorer scorer;
  private final List<String> rewardNames;
  private final List<Example> data;
  private final String taskType;
  private final TensorVector params;
  private final AdamW optimizer;
  private final Collectives dist;
  private final GradientReducer reducer;
  private final RankLayout layout;      // one optimizer step's micro-batches
  private final RoundScoring scoring;  // stage 2
  private final List<Tensor> allParams;
  private final OptimizerSharding sharding; // null unless ZeRO-1 over several processes
  private final List<Tensor> stepped;        // the model parameters whose update this rank computes
  private final MasterWeights masters;       // bf16: their float32 master copies (what AdamW holds), else null
  private final TrainerCheckpoint checkpoint; // what resuming needs besides the weights
  private final RolloutStage generation; // stage 1
  private final SamplerCursor sampler;
  private int step;
  private Round round; // the current generation round; null before the first step and after a mid-round resume
  private int roundStart; // the step that generated the current round
  private long referenceNanos; // this step's reference log-prob passes (part of the loss stage)
  private java.util.function.Consumer<String> stageProbe = stage -> { };

  /**
   * @param reference a frozen copy of the initial policy, or null when beta = 0 or when the policy has LoRA adapters
   *     (the reference pass is then the policy with its adapters off)
   * @param taskType the question template's task type (e.g. "rec"), or null
   */
  public GrpoTrainer(GrpoConfig cfg, VlmModule module, VlmModel policy, VlmModel reference,
      List<RewardFunction> rewards, List<Example> data, String taskType) {
    this(cfg, module, policy, reference, rewards, data, taskType, SingleProcess.INSTANCE);
  }

  /**
   * One rank of a data-parallel run: every rank builds the same trainer (same data, seed and initial weights) and
   * calls {@link #step} in lock step.
   *
   * @param dist the process group; its size must equal {@code cfg.worldSize()}
   */
  public GrpoTrainer(GrpoConfig cfg, VlmModule module, VlmModel policy, VlmModel reference,
      List<RewardFunction> rewards, List<Example> data, String taskType, Collectives dist) {
    if (dist.worldSize() != cfg.worldSize()) {
      throw new IllegalArgumentException("the process group has " + dist.worldSize() + " ranks but the configuration "
          + "says " + cfg.worldSize());
    }
    LoraAdapters lora = policy.lora();
    if (cfg.beta() > 0 && reference == null && lora == null) {
      throw new IllegalArgumentException("beta = " + cfg.beta() + " needs a reference model (or set beta = 0)");
    }
    if (lora != null && reference != null) {
      throw new IllegalArgumentException("with LoRA the reference is the policy with its adapters off (PEFT's "
          + "disable_adapter): pass no reference model, so none is copied");
    }
    if (data.size() < cfg.promptsPerGeneration()) {
      throw new IllegalArgumentException("the dataset has " + data.size() + " examples, fewer than the "
          + cfg.promptsPerGeneration() + " prompts one generation round needs");
    }
    if (cfg.rewardWeights() != null && cfg.rewardWeights().length != rewards.size()) {
      throw new IllegalArgumentException(cfg.rewardWeights().length + " reward weights for " + rewards.size()
          + " reward functions");
    }
    this.cfg = cfg;
    this.module = module;
    this.policy = policy;
    this.reference = reference;
    this.lora = lora;
    // bf16: forward and backward in bfloat16 (as VLM-R1's --bf16) with float32 masters for AdamW (below). Otherwise
    // float32 whatever the checkpoint holds, so AdamW never steps bfloat16 weights without a float32 master.
    torch.ScalarType compute = cfg.bf16() ? torch.ScalarType.BFloat16 : torch.ScalarType.Float;
    policy.castTo(compute);
    if (reference != null) {
      reference.castTo(compute);
    }
    module.postModelInit(policy);
    module.postModelInit(reference); // may be null (beta 0): the module must cope
    this.data = List.copyOf(data);
    this.sampler = new SamplerCursor(data.size(), cfg);
    this.taskType = taskType;
    this.scorer = new RewardScorer(rewards, cfg.rewardWeights(), Runtime.getRuntime().availableProcessors());
    this.rewardNames = rewards.stream().map(RewardFunction::name).toList();
    this.params = new TensorVector();
    List<String> names = new ArrayList<>();
    if (lora != null) {
      // PEFT: the base stays frozen (never copied); only the adapters train, so AdamW holds state for them alone
      policy.namedParameters().values().forEach(t -> t.requires_grad_(false));
    }
    Map<String, Tensor> candidates = lora != null ? lora.namedParameters() : policy.namedParameters();
    for (Map.Entry<String, Tensor> e : candidates.entrySet()) {
      boolean frozen = lora == null && cfg.freezeVisionModules()
          && module.visionModulesKeywords().stream().anyMatch(k -> e.getKey().contains(k));
      boolean floating = e.getValue().is_floating_point();
      e.getValue().requires_grad_(floating && !frozen);
      if (floating && !frozen) {
        params.push_back(e.getValue());
        names.add(e.getKey());
      }
    }
    if (reference != null) {
      reference.namedParameters().values().forEach(t -> t.requires_grad_(false));
    }
    List<Tensor> plist = new ArrayList<>();
    for (long i = 0; i < params.size(); i++) {
      plist.add(params.get(i));
    }
    this.allParams = List.copyOf(plist);
    this.sharding = cfg.zeroStage() == 1 && dist.worldSize() > 1
        ? new OptimizerSharding(plist, dist.rank(), dist.worldSize()) : null;
    List<Tensor> mine = new ArrayList<>();
    List<String> mineNames = new ArrayList<>();
    for (int i = 0; i < plist.size(); i++) {
      if (sharding == null || sharding.owns(i)) {
        mine.add(plist.get(i));
        mineNames.add(names.get(i));
      }
    }
    this.stepped = List.copyOf(mine);
    TensorVector optimized = new TensorVector();
    this.masters = cfg.bf16() ? new MasterWeights(stepped, mineNames) : null;
    (masters != null ? masters.tensors() : mine).forEach(optimized::push_back);
    this.optimizer = Optimizers.adamW(optimized, cfg.learningRate(), cfg.adamBeta1(), cfg.adamBeta2(),
        cfg.adamEpsilon(), cfg.weightDecay());
    this.dist = dist;
    this.layout = new RankLayout(cfg.worldSize(), dist.rank(), cfg.perDeviceTrainBatchSize(),
        cfg.gradientAccumulationSteps());
    this.scoring = new RoundScoring(cfg, scorer, rewardNames, dist);
    this.reducer = new GradientReducer(plist, GradientReducer.BUCKET_BYTES);
    this.checkpoint = new TrainerCheckpoint(cfg, optimizer, masters, sharding != null, dist, sampler);
    this.generation = new RolloutStage(cfg, module, policy, taskType, dist);
  }

  /** Optimizer steps taken so far. */
  public int stepsDone() {
    return step;
  }

  /**
   * Clears every parameter's gradient (the optimizer's zero_grad covers only what it holds: its shard under ZeRO-1,
   * the float32 masters under bf16).
   */
  private void zeroGrad() {
    optimizer.zero_grad();
    if (sharding != null || masters != null) {
      for (Tensor p : allParams) {
        if (p.grad().defined()) {
          p.mutable_grad().put(new Tensor());
        }
      }
    }
  }

  /** Benchmarks only: the gradient all-reduce of one step by itself (every trainable gradient present). */
  public void allReduceGradientsForBench() {
    reducer.reduceAllForBench(dist);
  }

  /** Debug check that every rank holds bit-identical parameters (an error names each rank's checksum). */
  public void checkReplicasIdentical() {
    Replicas.checkIdentical(allParams, dist, "after step " + step);
  }

  /**
   * Debug check (--check_devices): every parameter and gradient of the policy (its LoRA adapters included), the
   * reference's parameters and the float32 masters are on {@code device} ("cpu", "cuda:1", libtorch's device name);
   * the error names the first tensor that is not.
   */
  public void checkDevices(String device) {
    List<Map.Entry<String, Tensor>> all = new ArrayList<>();
    Map<String, Tensor> own = new LinkedHashMap<>(policy.namedParameters());
    if (lora != null) {
      own.putAll(lora.namedParameters());
    }
    own.forEach((k, v) -> {
      all.add(Map.entry("policy " + k, v));
      if (v.grad().defined()) {
        all.add(Map.entry("gradient of policy " + k, v.grad()));
      }
    });
    if (reference != null) {
      reference.namedParameters().forEach((k, v) -> all.add(Map.entry("reference " + k, v)));
    }
    if (masters != null) {
      masters.tensors().forEach(t -> all.add(Map.entry("a float32 master weight", t)));
    }
    for (Map.Entry<String, Tensor> e : all) {
      String on = Devices.name(e.getValue().device());
      if (!on.equals(device)) {
        throw new IllegalStateException("after step " + step + ": " + e.getKey() + " is on " + on + ", not on the "
            + "configured device " + device + " (--check_devices)");
      }
    }
  }

  /** Bytes of all trainable gradients (what one step all-reduces). */
  public long gradientBytes() {
    return reducer.gradientBytes();
  }

  /**
   * Every tensor byte a checkpoint writes, over all ranks: the weights, and unless {@code modelOnly} AdamW's two
   * moments of every trained parameter (float32 under bf16) and bf16's float32 masters. What {@link DiskSpace}
   * compares with the free space.
   */
  public long checkpointTensorBytes(boolean modelOnly) {
    long weights = (lora != null ? lora.namedParameters() : policy.namedParameters()).values().stream()
        .mapToLong(Tensor::nbytes).sum(); // with LoRA a checkpoint holds the adapters only
    if (modelOnly) {
      return weights;
    }
    long trained = masters != null ? allParams.stream().mapToLong(t -> t.numel() * Float.BYTES).sum()
        : allParams.stream().mapToLong(Tensor::nbytes).sum();
    return weights + 2 * trained + (masters != null ? trained : 0);
  }

  /** Whether the AdamW state is sharded across processes (ZeRO-1). */
  public boolean shardedOptimizer() {
    return sharding != null;
  }

  /** Writes this rank's share of the AdamW state into {@code dir} (every rank calls it under ZeRO-1). */
  public void saveOptimizerShard(Path dir) throws IOException {
    checkpoint.saveOptimizerShard(dir);
  }

  /**
   * Writes what resuming needs besides the weights ({@link TrainerCheckpoint}): the AdamW state (under ZeRO-1 each
   * rank writes its shard with {@link #saveOptimizerShard}) and the step and sampler position.
   */
  public void saveState(Path dir) throws IOException {
    saveState(dir, false);
  }

  /** {@link #saveState}, or with {@code modelOnly} (--save_only_model) without optimizer or master files. */
  public void saveState(Path dir, boolean modelOnly) throws IOException {
    checkpoint.save(dir, step, modelOnly);
  }

  /** Restores {@link #saveState}; the policy must already hold that checkpoint's weights. */
  public void restoreState(Path dir) throws IOException {
    step = checkpoint.restore(dir);
    dropRound();
    int roundSteps = cfg.stepsPerRound() * cfg.numIterations();
    if (step % roundSteps != 0) {
      // The buffered rollouts are not checkpointed, and the sampler stands after the round's prompts: the next step
      // starts a fresh round from the next prompts.
      System.err.println("warning: resuming at step " + step + ", inside a generation round of " + roundSteps
          + " steps (num_iterations " + cfg.numIterations() + " x " + cfg.stepsPerRound() + " steps per generation); "
          + "the next step generates a new round from the next prompts instead of reusing the lost rollouts");
    }
  }

  /** The trainable parameters (for tests and checkpointing). */
  public TensorVector parameters() {
    return params;
  }

  /**
   * Appends every completion of each generation round to {@code log} (--log_completions); each rank logs its own
   * completions, so a data-parallel run gives each rank its own file.
   */
  public void logCompletions(CompletionLog log) {
    scoring.logCompletions(log);
  }

  /** Runs the remaining steps up to max_steps in {@link TrainingLoop}, printing every logging step. */
  public List<StepMetrics> train() {
    try {
      return TrainingLoop.run(this, TrainingLoop.PRINT);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e); // PRINT writes no files
    }
  }

  public GrpoConfig config() {
    return cfg;
  }

  /**
   * Called as each stage of a step ends, with its name: "generate", "score" (a round's first step only), then per
   * micro-batch "reference" (beta > 0), "forward" (the policy up to its head), "fused_loss" and "backward", then
   * "optimizer" (reduce, clip, AdamW). For measurements between stages (bench scale's per-stage peak memory); the
   * default does nothing.
   */
  public void stageProbe(java.util.function.Consumer<String> probe) {
    this.stageProbe = java.util.Objects.requireNonNull(probe);
  }

  /** One optimizer step: generate and score (first step of a round), loss and backward, reduce, clip, AdamW. */
  public StepMetrics step() {
    long t0 = System.nanoTime();
    long t1 = t0;
    long t2 = t0;
    referenceNanos = 0;
    int roundSteps = cfg.stepsPerRound() * cfg.numIterations();
    boolean fresh = round == null || step - roundStart >= roundSteps;
    if (fresh) {
      // A round generates stepsPerRound optimizer steps' worth of completions and trains on them numIterations
      // times; the sampler repeats each chunk of prompts numIterations times, so the round takes its whole stream
      // now (a checkpoint's sampler position is always a round boundary: whole groups) and generates from the first
      // repetition.
      List<Example> stream = nextBatch(cfg.generationBatch() * cfg.numIterations());
      dropRound(); // its device tensors go before the new round's arrive
      List<Rollout> rollouts = generation.generate(stream.subList(0, cfg.generationBatch()), step);
      try {
        float[][] oldLogps = oldLogps(rollouts);
        t1 = System.nanoTime();
        stageProbe.accept("generate");
        round = scoreRound(rollouts, oldLogps);
      } catch (RuntimeException | Error e) {
        rollouts.forEach(Rollout::close);
        throw e;
      }
      roundStart = step;
      t2 = System.nanoTime();
      stageProbe.accept("score");
    }
    Round rd = round;
    int slice = (step - roundStart) % cfg.stepsPerRound(); // this step trains on the round's slice-th global batch
    LossStage ls = lossStage(rd, slice);
    long t3 = System.nanoTime();
    double gradNorm = ls.ok() ? reduceAndClip(ls.head()) : Double.NaN;
    if (!ls.ok() && ls.head() != null) {
      ls.head().await();
    }
    double lr = cfg.lrSchedulerType().lrAfterWarmup(cfg.learningRate(), step, cfg.maxSteps(),
        cfg.warmupStepCount());
    int kept = rd.keptRows(slice, cfg.globalBatch()); // completions not skipped for failed images
    boolean skipped = !ls.ok() || !Double.isFinite(gradNorm) || kept == 0;
    if (skipped) {
      System.err.println("warning: step " + (step + 1) + " skipped: " + (kept == 0 ? "every prompt's images failed "
          + "to decode" : "non-finite " + (!rd.finite() ? "rewards" : !ls.ok() ? "loss" : "gradient norm")));
      zeroGrad();
    } else {
      optimizerStep(lr);
    }
    step++;
    long t4 = System.nanoTime();
    stageProbe.accept("optimizer");
    Map<String, Double> seconds = new LinkedHashMap<>();
    seconds.put("generate", (t1 - t0) / 1e9);
    seconds.put("score", (t2 - t1) / 1e9);
    seconds.put("loss", (t3 - t2) / 1e9);
    seconds.put("reference", referenceNanos / 1e9); // inside "loss": what beta > 0 adds to it
    seconds.put("optimizer", (t4 - t3) / 1e9);
    if (cfg.worldSize() > 1) {
      seconds.put("allreduce", dist.takeCommSeconds());
    }
    Map<String, Double> perFn = new LinkedHashMap<>();
    for (int f = 0; f < rewardNames.size(); f++) {
      perFn.put(rewardNames.get(f), rd.mean(rd.scores().perFunction()[f]));
    }
    perFn.putAll(rd.counters()); // rewards/llm_judge_fallbacks
    return new StepMetrics(step, ls.loss(), rd.mean(rd.scores().total()), rd.rewardStd(), perFn, ls.kl(),
        ls.entropy(), ls.clip(), kept == 0 ? 0 : (double) rd.stepTokens()[slice] / kept, gradNorm, lr, skipped,
        seconds, rd.stepTokens()[slice], fresh ? rd.skippedPrompts() : 0);
  }

  private List<Example> nextBatch(int n) {
    List<Example> out = new ArrayList<>(n);
    for (int i : sampler.next(n)) {
      out.add(data.get(i));
    }
    return out;
  }

  /**
   * The rollout-time log-probs that make the importance ratio of every step after a round's first, whose policy an
   * earlier update of the round has moved: when the round trains num_iterations > 1 times or spans several optimizer
   * steps (steps_per_generation > the accumulation steps; TRL computes them whenever gradient_accumulation_steps %
   * (steps_per_generation x num_iterations) != 0). Null when the round is one step: its ratio is 1 by definition.
   */
  private float[][] oldLogps(List<Rollout> rollouts) {
    if (cfg.numIterations() == 1 && cfg.stepsPerRound() == 1) {
      return null;
    }
    float[][] old = new float[rollouts.size()][];
    for (int m = 0; m < old.length; m++) {
      old[m] = policyLogps(rollouts.get(m));
    }
    return old;
  }

  /** The rollout-time policy log-probs of a micro-batch's completion tokens, (B * C) row-major. */
  private float[] policyLogps(Rollout r) {
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Rollout.LossInputs in = Rollout.lossInputs(r, policy.device());
      // keyed like the round's first loss pass, so its ratio is exactly 1; no backward, so nothing to checkpoint
      PolicyHead head = policyHead(r, in, false);
      Tensor lp = Devices.host(tokenLogps(head.hidden().contiguous(), head.head(), in.completionIds()))
          .contiguous();                                                                           // (B, C)
      float[] out = new float[(int) lp.numel()];
      lp.data_ptr_float().get(out);
      return out;
    }
  }

  /** Stage 2 ({@link RoundScoring}): rewards, advantages over the round, this rank's slice. */
  private Round scoreRound(List<Rollout> rollouts, float[][] oldLogps) {
    return scoring.score(rollouts, oldLogps, step + 1);
  }

  /**
   * Stage 3's outcome over all ranks.
   *
   * @param loss summed over ranks (the loss scale divides by the process count); kl, entropy, clip averaged
   * @param ok whether every rank's loss was finite
   * @param head the LM head's all-reduce when it started early (overlap), else null
   */
  private record LossStage(double loss, double kl, double entropy, double clip, boolean ok,
      Collectives.Pending head) {}

  /**
   * Stage 3: the loss and backward, micro-batch by micro-batch, on this rank's advantages of the round's
   * {@code slice}-th optimizer step.
   */
  private LossStage lossStage(Round rd, int slice) {
    int micro = cfg.perDeviceTrainBatchSize();
    int steps = cfg.gradientAccumulationSteps();
    int first = slice * steps; // the slice's first micro-batch among this rank's rollouts of the round
    int world = cfg.worldSize();
    zeroGrad();
    double loss = 0;
    double kl = 0;
    double entropy = 0;
    double clip = 0;
    boolean ok = rd.finite();
    // With an untied head over several processes, the head's gradient is final once the last micro-batch's head
    // backward ran, so its all-reduce starts then and overlaps the backward through the decoder and vision tower.
    // (not with LoRA: the head's trainable tensors are then its adapter's, reduced with the others)
    boolean overlap = world > 1 && cfg.overlapGradReduce() && !policy.lmHeadTied() && lora == null;
    Collectives.Pending head = null;
    for (int m = 0; m < steps; m++) {
      boolean last = m == steps - 1;
      if (ok) {
        Rollout r = rd.rollouts().get(first + m);
        float[] a = Arrays.copyOfRange(rd.adv(), (first + m) * micro, (first + m + 1) * micro);
        Collectives.Pending[] started = new Collectives.Pending[1];
        GrpoHiddenLossResult res = lossAndBackward(r, a, rd.oldLogps() == null ? null : rd.oldLogps()[first + m],
            rd.stepTokens()[slice], overlap && last ? () -> started[0] = startHeadReduce() : null);
        head = started[0];
        loss += res.loss();
        kl += res.metrics().kl() / steps;
        entropy += res.metrics().entropy() / steps;
        clip += res.metrics().clipRatioRegion() / steps;
        ok = Double.isFinite(res.loss());
      }
      if (overlap && last && head == null) {
        head = startHeadReduce(); // every rank starts the same collectives, also one whose loss was not finite
      }
    }
    double[] red = layout.reduceSum(new double[] {loss, kl, entropy, clip, ok ? 1 : 0}, dist,
        "the loss-metrics all-reduce");
    return new LossStage(red[0], red[1] / world, red[2] / world, red[3] / world, red[4] == world, head);
  }

  /**
   * Policy forward on prompt + completion, reference log-probs, the fused loss, and the backward pass.
   *
   * @param oldLogps the rollout-time log-probs (B * C), or null when every rollout is used once (ratio 1)
   * @param afterHead run after the head's backward and before the backward through the model (overlap), or null
   */
  private GrpoHiddenLossResult lossAndBackward(Rollout r, float[] adv, float[] oldLogps, long dapoTokens,
      Runnable afterHead) {
    try (PointerScope s = new PointerScope()) {
      Rollout.LossInputs in = Rollout.lossInputs(r, policy.device());
      int p = in.promptLength();
      int c = in.completionLength();
      Tensor refLogps = null;
      if (cfg.beta() > 0) {
        // with LoRA: the policy with its adapters off is the base model (PEFT's disable_adapter)
        VlmModel ref = reference != null ? reference : policy;
        long r0 = System.nanoTime();
        try (NoGradGuard ng = new NoGradGuard(); LoraAdapters.Off off = lora != null ? lora.off() : null) {
          Tensor rh = ref.lastHidden(in.ids(), in.mask(), in.multimodal(), p - 1)
              .narrow(1, 0, c).contiguous();                                                           // (B, C, H)
          refLogps = tokenLogps(rh, ref.lmHead(), in.completionIds());
        }
        referenceNanos += System.nanoTime() - r0;
        stageProbe.accept("reference");
      }
      Tensor old = oldLogps == null ? null : Devices.moved(torch.tensor(oldLogps), in.ids().device())
          .reshape(r.completionIds().length, c);                                                      // (B, C)
      PolicyHead head = policyHead(r, in, cfg.gradientCheckpointing());
      stageProbe.accept("forward");
      Tensor hidden = head.hidden();
      Tensor lm = head.head();
      Tensor advantages = Devices.moved(torch.tensor(adv), in.ids().device());                        // (B)
      GrpoHiddenLossResult res = GrpoKernels.grpoLossFromHidden(hidden.detach().contiguous(), lm.detach(),
          in.completionIds(), in.completionMask(), advantages, old, refLogps, cfg.lossConfig(dapoTokens),
          GrpoKernels.chunkRows(hidden.size(0) * c, lm)); // one pass over the head when it fits
      stageProbe.accept("fused_loss");
      if (Double.isFinite(res.loss())) {
        // The head's gradient first, so an untied head's all-reduce can start before the backward through the model.
        HeadGradient.apply(lm, res.gradWeight());
        if (afterHead != null) {
          afterHead.run();
        }
        hidden.backward(res.gradHidden(), new BoolOptional(), false, null);
        if (head.checkpointed() != null) {
          head.checkpointed().backward(); // the layers, recomputed one at a time, last first
        }
      }
      stageProbe.accept("backward");
      return res;
    }
  }

  /**
   * The policy's training pass up to its LM head.
   *
   * @param hidden the hidden states of the positions that predict completion tokens only (p - 1 .. p + c - 2),
   *     (B, C, H), or with a head adapter and dropout the widened (B, C, H + r) of {@link LoraAdapters#headWithDropout}
   * @param head the head (V, H), or the widened (V, H + r)
   * @param checkpointed with --gradient_checkpointing, the pass whose backward continues from the gradient that
   *     reaches the decoder's output; null without
   */
  private record PolicyHead(Tensor hidden, Tensor head, CheckpointedPass checkpointed) {}

  /**
   * A training pass of the policy up to its LM head. With LoRA dropout the adapters' inputs are dropped out with the
   * keys of (seed, this step, the rows' global samples) (a checkpointed pass replays them in its recompute).
   *
   * @param checkpoint run the decoder as a {@link CheckpointedPass} (--gradient_checkpointing, a pass with a backward)
   */
  private PolicyHead policyHead(Rollout r, Rollout.LossInputs in, boolean checkpoint) {
    int p = in.promptLength();
    int c = in.completionLength();
    LoraDropout keys = lora != null && lora.hasDropout() ? LoraDropout.of(cfg.seed(), step, r.firstSample(), in.mask())
        : null;
    CheckpointedPass checkpointed = null;
    Tensor hidden;
    try (LoraAdapters.Off training = keys != null ? lora.train(keys) : null) {
      if (checkpoint) {
        checkpointed = policy.lastHiddenCheckpointed(in.ids(), in.mask(), in.multimodal(), p - 1);
        hidden = checkpointed.output();                                                     // (B, L - p + 1, H)
      } else {
        hidden = policy.lastHidden(in.ids(), in.mask(), in.multimodal(), p - 1);             // (B, L - p + 1, H)
      }
    }
    hidden = hidden.narrow(1, 0, c);                                                         // (B, C, H)
    String module = policy.lmHeadModule();
    if (keys == null || !lora.modules().contains(module)) {
      return new PolicyHead(hidden, policy.lmHead(), checkpointed);
    }
    Tensor base;
    try (LoraAdapters.Off off = lora.off()) {
      base = policy.lmHead();                                                                  // (V, H)
    }
    Tensor[] widened = lora.headWithDropout(module, hidden, base, keys.narrow(p - 1, c));
    return new PolicyHead(widened[0], widened[1], checkpointed);
  }

  /** The head gradient's all-reduce, started early (zeros when this rank has none, so every rank joins). */
  private Collectives.Pending startHeadReduce() {
    Tensor lm = policy.lmHead();
    if (!lm.grad().defined()) {
      lm.mutable_grad().put(torch.zeros_like(lm));
    }
    return dist.allReduceSumAsync(lm.grad(), "the LM-head gradient all-reduce");
  }

  /** Chunked log-probs of the completion tokens from hidden states (no B x C x V logits at once). */
  private Tensor tokenLogps(Tensor hidden, Tensor head, Tensor ids) {
    long b = hidden.size(0);
    long c = hidden.size(1);
    Tensor h2 = hidden.reshape(b * c, -1);
    Tensor flatIds = ids.reshape(b * c);
    Tensor out = torch.empty(new long[] {b * c}, new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Float)
        .device(new org.bytedeco.pytorch.DeviceOptional(hidden.device())), null);                   // (B * C)
    long step = GrpoKernels.chunkRows(b * c, head);
    for (long r0 = 0; r0 < b * c; r0 += step) {
      long n = Math.min(step, b * c - r0);
      try (PointerScope s = new PointerScope()) {
        Tensor logits = h2.narrow(0, r0, n).mm(head.t()).contiguous();
        out.narrow(0, r0, n).copy_(GrpoKernels.tokenLogProbs(logits, flatIds.narrow(0, r0, n).contiguous(),
            cfg.temperature(), false).logProbs());
      }
    }
    return out.reshape(b, c);
  }

  /** Stage 4a: gradients summed across ranks (the early head reduction joined), then clipped; the norm. */
  private double reduceAndClip(Collectives.Pending head) {
    reducer.reduce(dist, head != null ? policy.lmHead() : null);
    if (head != null) {
      head.await();
    }
    return torch.clip_grad_norm_(params, cfg.maxGradNorm());
  }

  /** Stage 4b: AdamW at the scheduled rate (on the float32 masters under bf16), then ZeRO-1's parameter gather. */
  private void optimizerStep(double lr) {
    optimizer.param_groups().get(0).options().set_lr(lr);
    if (masters != null) {
      masters.fromGradients();
    }
    optimizer.step();
    if (masters != null) {
      masters.toModel();
    }
    if (sharding != null) {
      sharding.gatherParameters(dist); // each parameter from the rank that stepped it
    }
  }

  /** Closes the current round, if any (its rollouts' device tensors), and forgets it. */
  private void dropRound() {
    if (round != null) {
      Round r = round;
      round = null;
      r.close();
    }
  }

  @Override
  public void close() {
    dropRound();
    generation.close();
    if (masters != null) {
      masters.close();
    }
    scorer.close();
    optimizer.close();
  }
}
