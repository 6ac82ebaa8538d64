// The GRPO trainer's configuration: VLM-R1's defaults under TRL's names, validated at construction.
package org.vlmr1.trainer;

import java.nio.file.Path;
import org.vlmr1.data.JsonlDataset.OnBadSample;
import org.vlmr1.kernels.GrpoLossConfig;
import org.vlmr1.kernels.LossType;
import org.vlmr1.kernels.ScaleRewards;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.reward.RewardScorer;

/**
 * GRPO hyper-parameters (VLM-R1-SPEC.md 4-5; defaults are VLM-R1's).
 *
 * @param numGenerations G, completions per prompt (8)
 * @param beta KL coefficient (0.04); 0 needs no reference model
 * @param epsilon lower clip (0.2); epsilonHigh upper clip (defaults to epsilon)
 * @param numIterations policy updates per generation round (TRL's mu): steps after the first reuse the
 *     round's rollouts, with the rollout-time log-probs as the ratio's denominator
 * @param learningRate 1e-6, with {@code lrSchedulerType} (linear decay) after {@code warmupRatio} (0) of warm-up,
 *     or {@code warmupSteps} steps when that is above 0 (Hugging Face's rule: warmup_steps overrides warmup_ratio)
 * @param adamBeta1 0.9, adamBeta2 0.999, adamEpsilon 1e-8, weightDecay 0 (HF AdamW defaults)
 * @param maxGradNorm gradient clipping norm (1.0)
 * @param maxCompletionLength tokens generated per completion (256)
 * @param maxSteps optimizer steps
 * @param temperature sampling temperature (1.0), also applied to the log-probs in the loss, as TRL does
 * @param topK 50 (transformers' generation default that VLM-R1 gets implicitly); topP 1.0
 * @param perDeviceTrainBatchSize completions per micro-batch; gradientAccumulationSteps micro-batches per step
 * @param seed data order and sampling
 * @param lossType GRPO; scaleRewards GROUP; rewardWeights one per reward function (null = all 1, honoured)
 * @param freezeVisionModules no gradients for the vision tower
 * @param loggingSteps how often metrics are printed
 * @param outputDir run folder (metrics.jsonl, checkpoints)
 * @param worldSize data-parallel processes (1): the global batch is per-device x processes x accumulation steps
 * @param zeroStage 0, or 1 to shard the AdamW state across the processes (ZeRO-1)
 * @param overlapGradReduce start an untied LM head's gradient all-reduce during the backward pass (true)
 * @param bf16 run the policy and reference in bfloat16, with float32 master weights for AdamW (false)
 * @param stepsPerGeneration micro-batches per process that one generation round fills (TRL >= 0.18's
 *     steps_per_generation; default the accumulation steps, i.e. one round per optimizer step): a multiple of the
 *     accumulation steps, so a round spans stepsPerGeneration / gradientAccumulationSteps whole optimizer steps that
 *     train on its consecutive slices; group statistics cover the whole round, so G needs to divide only the
 *     generation batch
 * @param onBadSample an image that passed validation but fails to decode mid-run: FAIL (default) stops naming the
 *     file and data line; SKIP trains on without the example (its rows get completion mask 0 and advantage 0)
 * @param rollout how completions are generated: rows per generation call (--max_generation_rows), shared prompt
 *     prefill, the engine's options
 * @param gradientCheckpointing keep only each decoder layer's input (and each vision block's when the tower trains)
 *     between the policy's forward and backward and recompute them one at a time in the backward (TRL's
 *     gradient_checkpointing; false): less memory, one more forward, the same gradients
 */
public record GrpoConfig(int numGenerations, double beta, double epsilon, double epsilonHigh, int numIterations,
    double learningRate, LrSchedulerType lrSchedulerType, double warmupRatio, double adamBeta1, double adamBeta2,
    double adamEpsilon, double weightDecay, double maxGradNorm, int maxCompletionLength, int maxSteps,
    double temperature, int topK, double topP, int perDeviceTrainBatchSize, int gradientAccumulationSteps, long seed,
    LossType lossType, ScaleRewards scaleRewards, double[] rewardWeights, boolean freezeVisionModules,
    int loggingSteps, Path outputDir, int worldSize, int zeroStage, boolean overlapGradReduce, boolean bf16,
    int stepsPerGeneration, OnBadSample onBadSample, RolloutOptions rollout, boolean gradientCheckpointing,
    int warmupSteps) {

  public GrpoConfig {
    require(numGenerations >= 2, "--num_generations must be >= 2 (group statistics need two completions), got "
        + numGenerations);
    require(worldSize >= 1, "the number of processes must be >= 1, got " + worldSize);
    require(zeroStage == 0 || zeroStage == 1, "--zero_stage must be 0 or 1 (optimizer-state sharding), got "
        + zeroStage);
    int global = perDeviceTrainBatchSize * worldSize * gradientAccumulationSteps;
    require(perDeviceTrainBatchSize >= 1, "--per_device_train_batch_size must be >= 1, got "
        + perDeviceTrainBatchSize);
    require(gradientAccumulationSteps >= 1, "--gradient_accumulation_steps must be >= 1, got "
        + gradientAccumulationSteps);
    require(stepsPerGeneration >= gradientAccumulationSteps && stepsPerGeneration % gradientAccumulationSteps == 0,
        "--steps_per_generation must be a multiple of gradient_accumulation_steps " + gradientAccumulationSteps
        + " (a generation round spans whole optimizer steps), got " + stepsPerGeneration);
    int generation = perDeviceTrainBatchSize * worldSize * stepsPerGeneration;
    String processes = worldSize + (worldSize == 1 ? " process" : " processes");
    String fix = " (e.g. --steps_per_generation " + stepsPerGenerationFor(numGenerations, perDeviceTrainBatchSize,
        worldSize, gradientAccumulationSteps) + ": one generation round for several optimizer steps)";
    require(generation % numGenerations == 0, stepsPerGeneration == gradientAccumulationSteps
        ? "--num_generations " + numGenerations + " must divide the global batch: per_device_train_batch_size "
            + perDeviceTrainBatchSize + " x " + processes + " x gradient_accumulation_steps "
            + gradientAccumulationSteps + " = " + global + " completions per step, i.e. " + global + "/"
            + numGenerations + " prompts; choose a batch that is a multiple of " + numGenerations + fix
        : "--num_generations " + numGenerations + " must divide the generation batch: per_device_train_batch_size "
            + perDeviceTrainBatchSize + " x " + processes + " x steps_per_generation " + stepsPerGeneration + " = "
            + generation + " completions per generation round (" + global + " per optimizer step); choose a batch "
            + "that is a multiple of " + numGenerations + fix);
    require(beta >= 0, "--beta must be >= 0 (0: no KL term), got " + beta);
    require(epsilon >= 0 && epsilon < 1, "--epsilon must be in [0, 1), got " + epsilon);
    require(epsilonHigh >= 0, "--epsilon_high must be >= 0, got " + epsilonHigh);
    require(numIterations >= 1, "--num_iterations must be >= 1, got " + numIterations);
    require(learningRate >= 0 && Double.isFinite(learningRate), "--learning_rate must be a finite number >= 0, got "
        + learningRate);
    require(warmupRatio >= 0 && warmupRatio <= 1, "--warmup_ratio must be in [0, 1], got " + warmupRatio);
    require(adamBeta1 >= 0 && adamBeta1 < 1, "--adam_beta1 must be in [0, 1), got " + adamBeta1);
    require(adamBeta2 >= 0 && adamBeta2 < 1, "--adam_beta2 must be in [0, 1), got " + adamBeta2);
    require(adamEpsilon > 0, "--adam_epsilon must be > 0, got " + adamEpsilon);
    require(warmupSteps >= 0, "--warmup_steps must be >= 0, got " + warmupSteps);
    require(weightDecay >= 0 && Double.isFinite(weightDecay), "--weight_decay must be >= 0, got " + weightDecay);
    require(maxGradNorm > 0, "--max_grad_norm must be > 0, got " + maxGradNorm);
    require(maxCompletionLength >= 1, "--max_completion_length must be >= 1, got " + maxCompletionLength);
    require(maxSteps >= 1, "--max_steps must be >= 1 here (-1, from --num_train_epochs, is resolved before), got "
        + maxSteps);
    require(temperature > 0 && Double.isFinite(temperature), "--temperature must be a finite number > 0, got "
        + temperature);
    require(topK >= 0, "--top_k must be >= 0 (0: off), got " + topK);
    require(topP > 0 && topP <= 1, "--top_p must be in (0, 1], got " + topP);
    require(lossType != null && scaleRewards != null && lrSchedulerType != null && onBadSample != null
        && rollout != null, "--loss_type, --scale_rewards, --lr_scheduler_type, --on_bad_sample and the rollout "
        + "options must be set");
    require(loggingSteps >= 1, "--logging_steps must be >= 1, got " + loggingSteps);
    RewardScorer.checkWeights(rewardWeights);
    rewardWeights = rewardWeights == null ? null : rewardWeights.clone();
  }

  /**
   * The smallest steps_per_generation (a multiple of {@code gas}) whose generation batch holds whole groups of
   * {@code g}: {@code gas} itself when G divides the optimizer step's batch.
   */
  public static int stepsPerGenerationFor(int g, int perDevice, int worldSize, int gas) {
    long perStep = (long) perDevice * worldSize * gas;
    long k = g / java.math.BigInteger.valueOf(g).gcd(java.math.BigInteger.valueOf(perStep)).longValue();
    return Math.toIntExact(k * gas);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message); // names the flag (TRL's name) and the value given
    }
  }

  /** Completions per optimizer step over all processes. */
  public int globalBatch() {
    return perDeviceTrainBatchSize * worldSize * gradientAccumulationSteps;
  }

  /** Completions per generation round over all processes (TRL's generation_batch_size). */
  public int generationBatch() {
    return perDeviceTrainBatchSize * worldSize * stepsPerGeneration;
  }

  /** Steps of linear warm-up: warmupSteps when above 0, else ceil(maxSteps x warmupRatio) (Hugging Face's rule). */
  public long warmupStepCount() {
    return warmupSteps > 0 ? warmupSteps : LrSchedulerType.warmupSteps(maxSteps, warmupRatio);
  }

  /** Optimizer steps one generation round spans (1 unless steps_per_generation exceeds the accumulation steps). */
  public int stepsPerRound() {
    return stepsPerGeneration / gradientAccumulationSteps;
  }

  /** Prompts per generation round (over all processes): the sampler's chunk. */
  public int promptsPerGeneration() {
    return generationBatch() / numGenerations;
  }

  SamplingConfig sampling() {
    return new SamplingConfig(false, temperature, topK, topP, seed, maxCompletionLength);
  }

  GrpoLossConfig lossConfig(double dapoTokenCount) {
    return GrpoLossConfig.builder().epsilonLow(epsilon).epsilonHigh(epsilonHigh).beta(beta).temperature(temperature)
        .lossType(lossType).maxCompletionLength(maxCompletionLength).dapoTokenCount(dapoTokenCount)
        // Gradients are summed over processes, so each micro-batch weighs 1 / (accumulation steps x processes): the
        // sum equals one process running the whole global batch. DAPO divides by the step's global token count.
        .lossScale(lossType == LossType.DAPO ? 1.0 : 1.0 / ((double) gradientAccumulationSteps * worldSize)).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builder with VLM-R1's defaults. */
  public static final class Builder {
    private int numGenerations = 8;
    private double beta = 0.04;
    private double epsilon = 0.2;
    private Double epsilonHigh;
    private int numIterations = 1;
    private int worldSize = 1;
    private int zeroStage = 0;
    private boolean overlapGradReduce = true;
    private boolean bf16 = false;
    private boolean gradientCheckpointing = false;
    private int stepsPerGeneration; // 0: the accumulation steps
    private double learningRate = 1e-6;
    private LrSchedulerType lrSchedulerType = LrSchedulerType.LINEAR;
    private double warmupRatio = 0;
    private double weightDecay = 0;
    private double adamBeta1 = 0.9;
    private double adamBeta2 = 0.999;
    private double adamEpsilon = 1e-8;
    private int warmupSteps = 0;
    private double maxGradNorm = 1.0;
    private int maxCompletionLength = 256;
    private int maxSteps = 1;
    private double temperature = 1.0;
    private int topK = 50;
    private double topP = 1.0;
    private int perDeviceTrainBatchSize = 8;
    private int gradientAccumulationSteps = 1;
    private long seed = 42;
    private LossType lossType = LossType.GRPO;
    private ScaleRewards scaleRewards = ScaleRewards.GROUP;
    private double[] rewardWeights;
    private boolean freezeVisionModules;
    private int loggingSteps = 1;
    private Path outputDir = Path.of("runs", "grpo");
    private OnBadSample onBadSample = OnBadSample.FAIL;
    private RolloutOptions rollout = RolloutOptions.DEFAULT;
    private Integer maxGenerationRows; // null: the rollout options' own

    public Builder numGenerations(int v) { numGenerations = v; return this; }
    public Builder beta(double v) { beta = v; return this; }
    public Builder epsilon(double v) { epsilon = v; return this; }
    public Builder epsilonHigh(double v) { epsilonHigh = v; return this; }
    public Builder numIterations(int v) { numIterations = v; return this; }
    public Builder learningRate(double v) { learningRate = v; return this; }
    public Builder lrSchedulerType(LrSchedulerType v) { lrSchedulerType = v; return this; }
    public Builder warmupRatio(double v) { warmupRatio = v; return this; }
    public Builder weightDecay(double v) { weightDecay = v; return this; }
    public Builder adamBeta1(double v) { adamBeta1 = v; return this; }
    public Builder adamBeta2(double v) { adamBeta2 = v; return this; }
    public Builder adamEpsilon(double v) { adamEpsilon = v; return this; }
    public Builder warmupSteps(int v) { warmupSteps = v; return this; }
    public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
    public Builder maxCompletionLength(int v) { maxCompletionLength = v; return this; }
    public Builder maxSteps(int v) { maxSteps = v; return this; }
    public Builder temperature(double v) { temperature = v; return this; }
    public Builder topK(int v) { topK = v; return this; }
    public Builder topP(double v) { topP = v; return this; }
    public Builder perDeviceTrainBatchSize(int v) { perDeviceTrainBatchSize = v; return this; }
    public Builder gradientAccumulationSteps(int v) { gradientAccumulationSteps = v; return this; }
    public Builder seed(long v) { seed = v; return this; }
    public Builder lossType(LossType v) { lossType = v; return this; }
    public Builder scaleRewards(ScaleRewards v) { scaleRewards = v; return this; }
    public Builder rewardWeights(double[] v) { rewardWeights = v; return this; }
    public Builder freezeVisionModules(boolean v) { freezeVisionModules = v; return this; }
    public Builder loggingSteps(int v) { loggingSteps = v; return this; }
    public Builder outputDir(Path v) { outputDir = v; return this; }
    public Builder worldSize(int v) { worldSize = v; return this; }
    public Builder zeroStage(int v) { zeroStage = v; return this; }
    public Builder overlapGradReduce(boolean v) { overlapGradReduce = v; return this; }
    public Builder bf16(boolean v) { bf16 = v; return this; }
    public Builder gradientCheckpointing(boolean v) { gradientCheckpointing = v; return this; }
    public Builder stepsPerGeneration(int v) { stepsPerGeneration = v; return this; }
    public Builder onBadSample(OnBadSample v) { onBadSample = v; return this; }
    public Builder rollout(RolloutOptions v) { rollout = v; return this; }
    public Builder maxGenerationRows(int v) { maxGenerationRows = v; return this; }

    public GrpoConfig build() {
      return new GrpoConfig(numGenerations, beta, epsilon, epsilonHigh == null ? epsilon : epsilonHigh, numIterations,
          learningRate, lrSchedulerType, warmupRatio, adamBeta1, adamBeta2, adamEpsilon, weightDecay, maxGradNorm,
          maxCompletionLength, maxSteps, temperature, topK, topP, perDeviceTrainBatchSize, gradientAccumulationSteps,
          seed, lossType, scaleRewards, rewardWeights, freezeVisionModules, loggingSteps, outputDir, worldSize,
          zeroStage,
          overlapGradReduce, bf16, stepsPerGeneration == 0 ? gradientAccumulationSteps : stepsPerGeneration,
          onBadSample, maxGenerationRows == null ? rollout : rollout.withMaxGenerationRows(maxGenerationRows),
          gradientCheckpointing, warmupSteps);
    }
  }
}
