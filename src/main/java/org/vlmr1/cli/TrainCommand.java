// bin/vlmr1 train: GRPO training with VLM-R1's flag names (VLM-R1-SPEC.md 5), on VLM-R1's JSONL data.
package org.vlmr1.cli;


import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vlmr1.data.JsonlDataset;
import org.vlmr1.data.MethodNames;
import org.vlmr1.demo.Demo;
import org.vlmr1.distributed.Collectives;
import org.vlmr1.distributed.DistEnv;
import org.vlmr1.distributed.GlooGroup;
import org.vlmr1.distributed.Launcher;
import org.vlmr1.distributed.NcclGroup;
import org.vlmr1.distributed.SingleProcess;
import org.vlmr1.kernels.DeviceSpec;
import org.vlmr1.kernels.LossType;
import org.vlmr1.kernels.ScaleRewards;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.LoraAdapters;
import org.vlmr1.model.LoraCheckpoint;
import org.vlmr1.model.LoraConfig;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.HubCache;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.reward.AccuracyMethod;
import org.vlmr1.reward.RewardDebugLog;
import org.vlmr1.reward.RewardFunction;
import org.vlmr1.reward.Rewards;
import org.vlmr1.trainer.CompletionLog;
import org.vlmr1.trainer.DiskSpace;
import org.vlmr1.trainer.EpochSteps;
import org.vlmr1.trainer.GrpoConfig;
import org.vlmr1.trainer.GrpoTrainer;
import org.vlmr1.trainer.LoggingWindow;
import org.vlmr1.trainer.LrSchedulerType;
import org.vlmr1.trainer.ModelFingerprint;
import org.vlmr1.trainer.Plots;
import org.vlmr1.trainer.ProgressBar;
import org.vlmr1.trainer.RunLock;
import org.vlmr1.trainer.RunLogs;
import org.vlmr1.trainer.RunProvenance;
import org.vlmr1.trainer.RunWriter;
import org.vlmr1.trainer.SaveSchedule;
import org.vlmr1.trainer.StepMetrics;
import org.vlmr1.trainer.TrainingLoop;

/** The train command. */
final class TrainCommand implements Command {
  /** The accuracy methods the rewards know, for listing a dataset's unknown ones at load time. */
  static final MethodNames ACCURACY_METHODS = new MethodNames(
      AccuracyMethod::known, AccuracyMethod.keys());

  @Override
  public String name() {
    return "train";
  }

  @Override
  public String summary() {
    return "GRPO training with VLM-R1's flags and JSONL data";
  }

  @Override
  public List<FlagSpec> flags() {
    return ModuleFlags.withProcessing(List.of(
        FlagSpec.value("model_name_or_path", null, "checkpoint folder (Hugging Face layout)"),
        FlagSpec.value("data_file_paths", null, "JSONL files, ':'-separated"),
        FlagSpec.value("image_folders", null, "one image folder per data file, ':'-separated"),
        FlagSpec.value("reward_method", null, "accuracy method per data file, ':'-separated (default: default)"),
        FlagSpec.list("reward_funcs", "accuracy,format", "reward functions (accuracy, format, length, repetition)"),
        FlagSpec.list("reward_weights", null, "one weight per reward function (default 1 each; honoured)"),
        FlagSpec.value("task_type", null, "question template: rec, ic, odLength, or default"),
        FlagSpec.bool("is_reward_customized_from_vlm_module", "use the module's REC rewards (task_type rec)"),
        FlagSpec.value("num_generations", "8", "completions per prompt (G)"),
        FlagSpec.value("beta", "0.04", "KL coefficient; 0 loads no reference model"),
        FlagSpec.value("epsilon", "0.2", "lower clip"),
        FlagSpec.value("epsilon_high", null, "upper clip (default: epsilon)"),
        FlagSpec.value("num_iterations", "1", "policy updates per generation round; later ones reuse its rollouts"),
        FlagSpec.value("per_device_train_batch_size", "8", "completions per micro-batch"),
        FlagSpec.value("gradient_accumulation_steps", "1", "micro-batches per optimizer step"),
        FlagSpec.value("steps_per_generation", null, "micro-batches per process that one generation round fills "
            + "(TRL's name; a multiple of gradient_accumulation_steps; default: gradient_accumulation_steps, or the "
            + "smallest multiple whose round holds whole groups of num_generations)"),
        FlagSpec.value("learning_rate", "1e-6", "AdamW learning rate"),
        FlagSpec.value("lr_scheduler_type", "linear", "linear, constant or cosine"),
        FlagSpec.value("warmup_ratio", "0", "fraction of steps of linear warm-up"),
        FlagSpec.value("warmup_steps", "0", "steps of linear warm-up; above 0 it overrides warmup_ratio"),
        FlagSpec.value("weight_decay", "0", "AdamW weight decay"),
        FlagSpec.value("adam_beta1", "0.9", "AdamW first-moment decay"),
        FlagSpec.value("adam_beta2", "0.999", "AdamW second-moment decay"),
        FlagSpec.value("adam_epsilon", "1e-8", "AdamW epsilon"),
        FlagSpec.value("max_grad_norm", "1.0", "gradient clipping norm"),
        FlagSpec.value("max_completion_length", "256", "tokens per completion"),
        FlagSpec.value("max_generation_rows", "0", "most completion rows decoded together (ours; 0 = the whole "
            + "micro-batch): caps the KV cache and activations of generation; TRL's generation_batch_size is "
            + "something else"),
        FlagSpec.value("max_steps", "-1", "optimizer steps (-1: from num_train_epochs)"),
        FlagSpec.value("num_train_epochs", "3", "epochs when max_steps is -1 (Hugging Face's default; VLM-R1's "
            + "scripts pass 2)"),
        FlagSpec.value("temperature", "1.0", "sampling temperature (also applied in the loss)"),
        FlagSpec.value("top_k", "50", "sampling top-k (0 = off)"),
        FlagSpec.value("top_p", "1.0", "sampling top-p"),
        FlagSpec.value("loss_type", "grpo", "grpo, bnpo, dr_grpo or dapo"),
        FlagSpec.value("scale_rewards", "group", "group, batch or none"),
        FlagSpec.bool("freeze_vision_modules", "no gradients for the vision tower"),
        FlagSpec.bool("gradient_checkpointing", "keep only each decoder layer's (and trained vision block's) input "
            + "between the policy's forward and backward and recompute them one at a time (less memory, one more "
            + "forward, same gradients)"),
        FlagSpec.bool("use_peft", "LoRA: train adapters only; the reference is the base model (no second copy)"),
        FlagSpec.value("lora_r", String.valueOf(LoraConfig.DEFAULT_R), "LoRA rank"),
        FlagSpec.value("lora_alpha", "32", "LoRA alpha (scaling alpha / r)"),
        FlagSpec.value("lora_dropout", String.valueOf(LoraConfig.DEFAULT_DROPOUT), "dropout on the adapters' "
            + "input in training passes (masks keyed by seed, step, sample, module, position)"),
        FlagSpec.list("lora_target_modules", null, "module names or suffixes (PEFT's matching; default: every "
            + "linear layer outside the vision modules except embed_tokens, lm_head included)"),
        FlagSpec.list("lora_modules_to_save", null, "modules that train in full beside the adapters (PEFT's "
            + "modules_to_save: a module path ending with an entry, e.g. lm_head; saved in the adapter file, off in the "
            + "reference pass)"),
        FlagSpec.value("lora_task_type", "CAUSAL_LM", "PEFT task type (CAUSAL_LM)"),
        FlagSpec.value("save_steps", "500", "checkpoint every N steps (0 = only at the end)"),
        FlagSpec.value("save_total_limit", "0", "keep the newest N checkpoints (0 = all)"),
        FlagSpec.value("logging_steps", "1", "print and log every N steps (metrics.jsonl: the N steps averaged, as "
            + "HF's Trainer and TRL do; grad_norm and learning_rate the last step's)"),
        FlagSpec.value("output_dir", null, "run folder: metrics.jsonl, reward.png, kl.png, completion_length.png, "
            + "checkpoint-<step>/"),
        FlagSpec.value("seed", "42", "data order and sampling seed"),
        DataFlags.ON_BAD_SAMPLE,
        DataFlags.ALLOW_OUTSIDE,
        FlagSpec.value("tokenizer", null, "tokenizer.json when the checkpoint has none"),
        FlagSpec.value("img_context_token_id", null, "InternVL: explicit <IMG_CONTEXT> id"),
        FlagSpec.value("vlm", null, "family override (qwen, internvl); default: config.json's model_type"),
        FlagSpec.value("nproc_per_node", "1", "data-parallel worker processes on this node (torchrun's flag); workers "
            + "started by another launcher read RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT instead"),
        FlagSpec.value("nnodes", "1", "nodes in a multi-node run"),
        FlagSpec.value("node_rank", "0", "this node's index in a multi-node run"),
        FlagSpec.value("master_addr", "127.0.0.1", "rendezvous host (rank 0's node)"),
        FlagSpec.value("master_port", "29500", "rendezvous TCP port"),
        FlagSpec.value("dist_timeout", "600", "seconds a worker waits for a peer before the run fails"),
        FlagSpec.value("dist_backend", "auto", "gloo (CPU), nccl (CUDA, one device per local rank) or auto: nccl "
            + "when --device is a CUDA device, else gloo"),
        DeviceFlag.SPEC,
        new FlagSpec("check_devices", FlagSpec.Kind.BOOLEAN, String.valueOf(Boolean.getBoolean("vlmr1.checkDevices")),
            "debug: after every step check that every parameter, gradient and master weight is on --device (on in "
            + "the test suite)"),
        FlagSpec.bool("bf16", "forward and backward in bfloat16 with float32 master weights for AdamW (without it, "
            + "and without --torch_dtype bfloat16, the models run in float32)"),
        FlagSpec.value("torch_dtype", null, "float32, bfloat16 (with float32 masters, as --bf16) or auto "
            + "(config.json's)"),
        FlagSpec.value("resume_from_checkpoint", "True", "True: the newest complete checkpoint in --output_dir if "
            + "any; a PATH: that checkpoint; False: start at step 0 (a folder with checkpoints needs --overwrite)"),
        FlagSpec.bool("overwrite", "with --resume_from_checkpoint False: delete --output_dir's checkpoints and "
            + "metrics first"),
        FlagSpec.bool("save_only_model", "checkpoints hold the weights only (no optimizer or master files; they "
            + "cannot be resumed)"),
        FlagSpec.bool("log_completions", "append every completion with its rewards and advantage to "
            + "<output_dir>/completions.jsonl"),
        FlagSpec.bool("demo", "run the built-in demo (with --seed and --output_dir only; also what train with no "
            + "flags does)"),
        FlagSpec.value("overlap_grad_reduce", "true", "start an untied LM head's gradient all-reduce during the "
            + "backward pass"),
        FlagSpec.value("zero_stage", "0", "1 shards the AdamW state across the processes (ZeRO-1); 0 keeps it whole"),
        FlagSpec.value("check_replicas_steps", "0", "debug: every N steps check that all processes hold bit-identical "
            + "parameters (0 = never)")));
  }

  @Override
  public int run(Flags f) throws Exception {
    if (f.isEmpty() || f.getBoolean("demo")) {
      return demo(f);
    }
    for (String n : new String[] {"model_name_or_path", "data_file_paths", "image_folders", "output_dir"}) {
      if (f.get(n) == null) {
        throw new UsageException("train needs --" + n + " (bin/vlmr1 train with no flags, or train --demo, runs the "
            + "built-in demo)");
      }
    }
    // Checked before anything is written or any worker starts (cuda without a device names what is missing).
    DeviceSpec.Resolved device = DeviceFlag.resolve(f);
    // Checked before anything loads (and in the launcher, before workers start).
    OutputFolder.requireNotAFile(Path.of(f.get("output_dir")), "output_dir");
    if (f.getInt("max_steps") == 0 || f.getInt("max_steps") < -1) {
      throw new UsageException("--max_steps takes -1 (from --num_train_epochs) or a step count >= 1, got "
          + f.get("max_steps"));
    }
    if (f.getInt("save_steps") < 0) {
      throw new UsageException("--save_steps takes a step count >= 0 (0: only at the end), got "
          + f.get("save_steps"));
    }
    if (f.getInt("save_total_limit") < 0) {
      throw new UsageException("--save_total_limit takes a checkpoint count >= 0 (0: keep all), got "
          + f.get("save_total_limit"));
    }
    loraConfig(f); // a refused LoRA setting stops before anything is loaded or written
    java.time.Duration timeout = java.time.Duration.ofSeconds(f.getInt("dist_timeout"));
    DistEnv env = DistEnv.fromEnv(f.env(), timeout);
    int nproc = f.getInt("nproc_per_node");
    int nnodes = f.getInt("nnodes");
    if (env == null && (nproc > 1 || nnodes > 1)) {
      // The launcher: start this node's workers with torchrun's environment and supervise them.
      Launcher.Spec spec;
      try {
        spec = new Launcher.Spec(nproc, nnodes, f.getInt("node_rank"), f.get("master_addr"),
            f.getInt("master_port"), timeout);
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage());
      }
      List<String> args = new ArrayList<>(List.of("train"));
      args.addAll(Main.currentArgs());
      return Launcher.launch(spec, Main.class.getName(), args);
    }
    if (env == null) {
      env = DistEnv.single();
    }
    DeviceSpec.Resolved placement = DeviceFlag.forRank(f, device, env.localRank(), env.worldSize());
    // One run per folder: rank 0 locks it before any rank reads or deletes its checkpoints, until the run ends.
    try (RunLock lock = env.isMain() ? RunLock.acquire(Path.of(f.get("output_dir"))) : null) {
      TorchRuntime.load();
      try (Collectives dist = env.worldSize() == 1 ? SingleProcess.INSTANCE
          : join(env, f.get("dist_backend"), placement)) {
        return train(f, dist, placement);
      }
    }
  }

  /** The built-in demo: {@code train} with no flags, or {@code train --demo [--seed N] [--output_dir D]}. */
  private static int demo(Flags f) throws Exception {
    for (String n : f.given()) {
      if (!n.equals("demo") && !n.equals("seed") && !n.equals("output_dir")) {
        throw new UsageException("--demo takes only --seed and --output_dir, got --" + n);
      }
    }
    Demo.Sizes sizes = Demo.Sizes.defaults();
    if (f.has("seed")) {
      sizes = sizes.withSeed(f.getLong("seed"));
    }
    TorchRuntime.load();
    Demo.run(Path.of(f.has("output_dir") ? f.get("output_dir") : "runs"), sizes);
    return 0;
  }

  /**
   * The process group of a worker: NCCL when the models run on CUDA (one device per local rank), Gloo on the CPU;
   * auto picks by --device.
   */
  private static Collectives join(DistEnv env, String backend, DeviceSpec.Resolved device) {
    switch (backend) {
      case "auto":
        return device.isCuda() ? NcclGroup.join(env) : GlooGroup.join(env);
      case "gloo":
        return GlooGroup.join(env);
      case "nccl": return NcclGroup.join(env);
      default: throw new UsageException("--dist_backend must be gloo, nccl or auto, got " + backend);
    }
  }

  /**
   * One worker's run (rank 0 of 1 without data parallelism): only rank 0 prints, logs and writes checkpoints and
   * plots.
   */
  private int train(Flags f, Collectives dist, DeviceSpec.Resolved device) throws Exception {
    boolean main = dist.isMain();
    Path model = resolveModel(f.get("model_name_or_path"), f.env());
    VlmModule module;
    try {
      module = VlmModules.forCheckpoint(model, f.get("vlm"), ModuleFlags.options(f));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage()); // e.g. another family's processing keyword
    }
    JsonlDataset.Loaded data = JsonlDataset.load(new JsonlDataset.Spec(paths(f.get("data_file_paths")),
        paths(f.get("image_folders")), f.get("reward_method") == null ? null
            : List.of(f.get("reward_method").split(":")),
        DataFlags.onBadSample(f), f.getBoolean("allow_image_paths_outside_folders")), TrainCommand.ACCURACY_METHODS);
    if (main) {
      System.out.println("data: " + data.summary());
      data.skipped().forEach(s -> System.out.println("  skipped " + s));
    }
    String task = f.get("task_type");
    List<RewardFunction> rewards;
    try {
      rewards = Rewards.resolve(f.getList("reward_funcs"), f.getBoolean("is_reward_customized_from_vlm_module")
          ? name -> module.selectRewardFunction(name, task) : null,
          Rewards.Context.fromEnvironment(text -> module.encode(text).length, f.env())); // judge, DEBUG_MODE
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    int perDevice = f.getInt("per_device_train_batch_size");
    int gas = f.getInt("gradient_accumulation_steps");
    int g = f.getInt("num_generations");
    int maxSteps = f.getInt("max_steps");
    if (maxSteps == -1) {
      try {
        maxSteps = EpochSteps.maxSteps(data.examples().size(), g, f.getInt("num_iterations"),
            perDevice, dist.worldSize(), gas, f.getDouble("num_train_epochs"));
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage());
      }
      if (main) {
        System.out.println("max_steps " + maxSteps + " from num_train_epochs " + f.get("num_train_epochs") + " ("
            + data.examples().size() + " examples x " + g + " generations x num_iterations "
            + f.get("num_iterations") + " over " + dist.worldSize() + " process(es), per-device batch " + perDevice
            + ", gradient_accumulation_steps " + gas + ")");
      }
    }
    TrainDtype dtype = TrainDtype.resolve(f.get("torch_dtype"), f.getBoolean("bf16"), model);
    if (main) {
      System.out.println(dtype.describe());
    }
    GrpoConfig.Builder b = GrpoConfig.builder().numGenerations(g).beta(f.getDouble("beta"))
        .epsilon(f.getDouble("epsilon")).learningRate(f.getDouble("learning_rate"))
        .lrSchedulerType(f.getChoice("lr_scheduler_type", LrSchedulerType.class, LrSchedulerType::parse))
        .warmupRatio(f.getDouble("warmup_ratio")).warmupSteps(f.getInt("warmup_steps"))
        .weightDecay(f.getDouble("weight_decay")).adamBeta1(f.getDouble("adam_beta1"))
        .adamBeta2(f.getDouble("adam_beta2")).adamEpsilon(f.getDouble("adam_epsilon"))
        .maxGradNorm(f.getDouble("max_grad_norm"))
        .maxCompletionLength(f.getInt("max_completion_length")).maxSteps(maxSteps)
        .temperature(f.getDouble("temperature")).topK(f.getInt("top_k")).topP(f.getDouble("top_p"))
        .perDeviceTrainBatchSize(perDevice).gradientAccumulationSteps(gas).seed(Long.parseLong(f.get("seed")))
        .lossType(f.getChoice("loss_type", LossType.class, LossType::parse))
        .scaleRewards(f.getChoice("scale_rewards", ScaleRewards.class, ScaleRewards::parse))
        .freezeVisionModules(f.getBoolean("freeze_vision_modules")).loggingSteps(f.getInt("logging_steps"))
        .outputDir(Path.of(f.get("output_dir"))).onBadSample(DataFlags.onBadSample(f));
    if (f.get("epsilon_high") != null) {
      b.epsilonHigh(f.getDouble("epsilon_high"));
    }
    if (f.has("reward_weights")) {
      b.rewardWeights(f.getDoubles("reward_weights"));
    }
    b.numIterations(f.getInt("num_iterations"));
    if (f.get("steps_per_generation") != null) {
      b.stepsPerGeneration(f.getInt("steps_per_generation"));
    } else {
      int spg = GrpoConfig.stepsPerGenerationFor(g, perDevice, dist.worldSize(), gas);
      b.stepsPerGeneration(spg);
      if (spg != gas && main) {
        // A script written for more processes: its optimizer step holds no whole group here. VLM-R1's TRL 0.17
        // refuses this; TRL >= 0.18 generates for several steps at once, which keeps the script's batch and G.
        System.out.println("steps_per_generation " + spg + ": num_generations " + g + " does not divide the "
            + perDevice * dist.worldSize() * gas + " completions of an optimizer step on " + dist.worldSize()
            + " process(es), so each generation round makes " + perDevice * dist.worldSize() * spg + " completions "
            + "(whole groups, advantages over the round) and " + spg / gas + " optimizer steps train on its slices "
            + "(TRL >= 0.18's steps_per_generation; pass --steps_per_generation to choose)");
      }
    }
    b.worldSize(dist.worldSize());
    b.zeroStage(f.getInt("zero_stage"));
    b.maxGenerationRows(f.getInt("max_generation_rows"));
    b.overlapGradReduce(Boolean.parseBoolean(f.get("overlap_grad_reduce")));
    b.bf16(dtype == TrainDtype.BFLOAT16_WITH_FLOAT32_MASTERS);
    b.gradientCheckpointing(f.getBoolean("gradient_checkpointing"));
    if (main && f.getBoolean("gradient_checkpointing")) {
      System.out.println("gradient checkpointing: per decoder layer, and per vision block when the vision tower "
          + "trains (only each one's input is kept; the backward recomputes them one at a time)");
    }
    GrpoConfig cfg;
    try {
      cfg = b.build();
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    LoraConfig lora = loraConfig(f);
    boolean modelOnly = f.getBoolean("save_only_model");
    int saveSteps = f.getInt("save_steps");
    int limit = f.getInt("save_total_limit");
    // Every rank reads the same folder before rank 0 writes anything new (the first write follows a collective).
    Path resume = resumePoint(f, cfg.outputDir(), main);
    RunProvenance provenance = new RunProvenance(ModelFingerprint.of(model), flagValues(f));
    if (resume != null) {
      try {
        for (String w : provenance.check(resume)) {
          warn(main, w);
        }
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage()); // resumed from another starting model
      }
    }
    RunLogs logs = main ? new RunLogs(cfg.outputDir(), debugLogs(f)) : null;
    RunWriter run = main ? new RunWriter(cfg.outputDir(), modelOnly, provenance, logs) : null;
    SaveSchedule saves = SaveSchedule.of(cfg, saveSteps);
    if (main && saves.deferralNote() != null) {
      System.out.println(saves.deferralNote());
    }
    if (resume != null && main) {
      System.out.println("resuming from " + resume + (dist.worldSize() > 1 ? " on " + dist.worldSize()
          + " processes" : ""));
    }
    // The policy continues from the checkpoint; the reference is always the initial model. With LoRA the policy is
    // the initial model plus adapters, and the reference is that model with its adapters off (no second copy). Both
    // load on the host and move onto --device once (adapters included), before the trainer builds AdamW over them.
    try (VlmModel policy = DeviceFlag.placed(lora != null ? withLora(module.loadModel(model), lora, module,
            cfg.seed(), resume) : module.loadModel(resume != null ? resume : model), device);
        VlmModel ref = cfg.beta() > 0 && lora == null ? DeviceFlag.placed(module.loadModel(model), device) : null;
        GrpoTrainer trainer = new GrpoTrainer(cfg, module, policy, ref, rewards, data.examples(), task, dist)) {
      if (resume != null) {
        trainer.restoreState(resume);
      }
      if (f.getBoolean("log_completions")) {
        Files.createDirectories(cfg.outputDir());
        trainer.logCompletions(new CompletionLog(cfg.outputDir().resolve(
            dist.worldSize() == 1 ? "completions.jsonl" : "completions-rank" + dist.rank() + ".jsonl")));
      }
      ProgressBar bar = main ? ProgressBar.forStdout(cfg.maxSteps()) : null;
      int check = f.getInt("check_replicas_steps");
      boolean checkDevices = f.getBoolean("check_devices");
      if (main) {
        // Before any rank logs: the steps after the checkpoint, which a killed run may have logged, are logged again.
        for (String cut : logs.rewind(resume, trainer.stepsDone())) {
          System.out.println("logs cut back to the checkpoint: " + cut);
        }
      }
      dist.barrier("the logs cut back to the checkpoint");
      LoggingWindow window = new LoggingWindow();
      TrainingLoop.run(trainer, new TrainingLoop.Hooks() {
        @Override
        public void afterStep(StepMetrics m, double seconds, boolean loggingStep) throws java.io.IOException {
          if (check > 0 && m.step() % check == 0) {
            trainer.checkReplicasIdentical();
          }
          if (checkDevices) {
            trainer.checkDevices(device.toString());
          }
          if (main) {
            window.add(m, seconds);
            if (loggingStep) {
              LoggingWindow.Logged line = window.drain(); // the steps since the last log, averaged
              run.log(line.metrics(), line.stepSeconds());
            }
            bar.update(m, seconds, loggingStep);
          }
        }

        @Override
        public boolean saveAfter(StepMetrics m) {
          return saves.saveAfter(m.step());
        }

        @Override
        public void save(StepMetrics m, List<StepMetrics> history) throws java.io.IOException {
          Path shards = null;
          if (trainer.shardedOptimizer() && !modelOnly) {
            // ZeRO-1: every rank writes its optimizer shard before rank 0 completes the checkpoint, so they all check
            // the free space first.
            DiskSpace.requireOnEveryRank(cfg.outputDir(), trainer.checkpointTensorBytes(false), m.step(), dist);
            shards = RunWriter.shardFolder(cfg.outputDir(), m.step());
            if (main) {
              RunWriter.deleteTree(shards);
              Files.createDirectories(shards);
            }
            dist.barrier("the checkpoint barrier before step " + m.step() + "'s optimizer shards");
            trainer.saveOptimizerShard(shards);
            dist.barrier("the checkpoint barrier after step " + m.step() + "'s optimizer shards");
          }
          if (main) {
            bar.breakLine();
            System.out.println("saved " + run.checkpoint(policy, trainer, m.step(), history, limit, shards));
            writePlots(run.dir(), m.step());
          }
          dist.barrier("the checkpoint barrier after step " + m.step());
        }
      });
    }
    if (main) {
      System.out.println("run folder: " + run.dir().toAbsolutePath() + " (metrics.jsonl, "
          + String.join(", ", Plots.METRICS.stream().map(m -> m + ".png").toList()) + ", checkpoint-*/)");
    }
    return 0;
  }

  /**
   * The charts of metrics.jsonl up to {@code step}, after the checkpoint: from the file rather than this process's
   * steps, so that a resumed run's charts start at step 1. A chart that cannot be drawn (no fonts in a stripped
   * JRE, a broken X display) is reported, not fatal: the checkpoint is already safe and the run goes on.
   */
  private static void writePlots(Path dir, int step) {
    try {
      Plots.writeFromMetrics(dir, step);
    } catch (java.io.IOException | RuntimeException | java.awt.AWTError | LinkageError e) {
      System.err.println("plots of step " + step + " not written: " + e);
    }
  }

  /** The DEBUG_MODE reward traces this run appends to (none when DEBUG_MODE is off). */
  private static List<Path> debugLogs(Flags f) {
    RewardDebugLog debug = RewardDebugLog.fromEnvironment(f.env());
    return debug.enabled() ? List.of(debug.accuracyLog(), debug.formatLog()) : List.of();
  }

  /**
   * VLM-R1's --resume_from_checkpoint (it resumes only when output_dir holds checkpoint-*): True (the default) picks
   * the newest complete checkpoint, or none; a PATH picks that checkpoint (which must be complete); False starts at
   * step 0 and refuses a folder that holds checkpoints unless --overwrite, which deletes them and metrics.jsonl.
   */
  private static Path resumePoint(Flags f, Path outputDir, boolean main) throws java.io.IOException {
    String v = f.get("resume_from_checkpoint");
    if (Flags.isBooleanWord(v)) {
      if (Boolean.parseBoolean(Flags.parseBoolean("resume_from_checkpoint", v))) {
        return RunWriter.resumableCheckpoint(outputDir, w -> warn(main, w));
      }
      List<Path> old = RunWriter.checkpoints(outputDir);
      if (!old.isEmpty()) {
        if (!f.getBoolean("overwrite")) {
          throw new UsageException("--resume_from_checkpoint False but " + outputDir + " holds " + old.size()
              + " checkpoint(s) (" + old.get(old.size() - 1).getFileName() + "): pass --overwrite to delete them "
              + "and start at step 0, or choose another --output_dir");
        }
        if (main) {
          for (Path c : old) {
            RunWriter.deleteTree(c);
          }
          new RunLogs(outputDir, List.of()).deleteOwn();
          for (String m : Plots.METRICS) {
            Files.deleteIfExists(Plots.file(outputDir, m));
          }
          System.out.println("--overwrite: deleted " + old.size() + " checkpoint(s) and the metrics and plots of "
              + outputDir);
        }
      }
      return null;
    }
    Path p = Path.of(v);
    if (!Files.isDirectory(p)) {
      throw new UsageException("--resume_from_checkpoint " + v + ": no such checkpoint folder");
    }
    if (!RunWriter.isComplete(p)) {
      throw new UsageException("--resume_from_checkpoint " + v + " is not a complete checkpoint (no "
          + "resume_state.json: an interrupted save, or not written by vlmr1 train)");
    }
    String bad = RunWriter.verificationFailure(p, w -> warn(main, w));
    if (bad != null) {
      throw new UsageException("--resume_from_checkpoint " + v + " fails verification: " + bad + "; choose another "
          + "checkpoint, or --resume_from_checkpoint True for the newest one that verifies");
    }
    return p;
  }

  /** Prints a warning once (rank 0). */
  private static void warn(boolean main, String message) {
    if (main) {
      System.err.println("warning: " + message);
    }
  }

  /** Every flag's value after --config merging (lists as lists, unset as null), as vlmr1_args.json records them. */
  private Map<String, Object> flagValues(Flags f) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (FlagSpec s : flags()) {
      out.put(s.name(), s.kind() == FlagSpec.Kind.LIST ? (f.has(s.name()) || s.defaultValue() != null
          ? f.getList(s.name()) : null) : f.get(s.name()));
    }
    return out;
  }

  /** A checkpoint folder, or a Hugging Face id resolved from the local hub cache (never downloaded). */
  private static Path resolveModel(String nameOrPath, Map<String, String> env) {
    try {
      return HubCache.resolve(nameOrPath, env);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  static List<Path> paths(String colonSeparated) {
    List<Path> out = new ArrayList<>();
    for (String s : colonSeparated.split(":")) {
      out.add(Path.of(s));
    }
    return out;
  }


  /** The LoRA settings of --use_peft (TRL's get_peft_config), or null without it. */
  static LoraConfig loraConfig(Flags f) {
    if (!f.getBoolean("use_peft")) {
      return null;
    }
    try {
      return new LoraConfig(f.getInt("lora_r"), f.getDouble("lora_alpha"), f.getDouble("lora_dropout"),
          LoraConfig.TaskType.parse(f.get("lora_task_type")),
          f.has("lora_target_modules") ? f.getList("lora_target_modules") : null,
          f.has("lora_modules_to_save") ? f.getList("lora_modules_to_save") : null);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /**
   * {@code base} with fresh adapters (A drawn from the run's seed), or a resumed run's adapters from its checkpoint
   * (which must be the ones these flags ask for); closed again when they cannot be added.
   */
  private static VlmModel withLora(VlmModel base, LoraConfig lora, VlmModule module, long seed, Path resume)
      throws java.io.IOException {
    try {
      LoraAdapters a = base.addLora(lora, module.visionModulesKeywords(), seed);
      if (resume != null) {
        LoraAdapters saved = LoraCheckpoint.read(resume);
        LoraConfig s = saved.config();
        if (s.r() != lora.r() || s.alpha() != lora.alpha() || !saved.modules().equals(a.modules())
            || !saved.savedParameters().equals(a.savedParameters())) {
          saved.close();
          throw new IllegalArgumentException(resume + " holds LoRA adapters with r " + s.r() + ", alpha "
              + s.alpha() + " on " + saved.modules().size() + " layers and " + s.modulesToSave()
              + " trained in full; the flags ask for r " + lora.r() + ", alpha " + lora.alpha() + " on "
              + a.modules().size() + " and " + lora.modulesToSave() + " (resume with the run's LoRA flags)");
        }
        base.attachLora(saved); // replaces the fresh ones
        a.close();
        a = saved;
      }
      System.out.println("LoRA r " + lora.r() + ", alpha " + lora.alpha() + " on " + a.modules().size()
          + " linear layers" + (a.savedParameters().isEmpty() ? "" : "; trained in full (modules_to_save): "
          + a.savedParameters()) + "; trainable parameters " + a.namedParameters().values().stream()
          .mapToLong(org.bytedeco.pytorch.Tensor::numel).sum());
      return base;
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      base.close();
      throw new UsageException(e.getMessage());
    }
  }
}
