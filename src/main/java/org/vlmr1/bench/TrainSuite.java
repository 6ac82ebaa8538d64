// bin/vlmr1 bench train: one GRPO optimizer step on a tiny Qwen2.5-VL (real vocabulary) with synthetic REC data:
// milliseconds per step and generated tokens per second. The per-stage breakdown of a real run is in its
// metrics.jsonl (time/generate, time/score, time/loss, time/optimizer). With --nproc_per_node N the same global batch
// also runs as 1 process x N accumulation steps and as N Gloo processes on loopback (the row's JVM is rank 0 and starts
// the others), and a row times the all-reduce of the model's whole gradient across N processes.
// Every step row also reports its median stage seconds, the Java heap's high-water mark, GC time per step and peak
// RSS; the grpoStepStages row runs issue 18's step (hidden 256, 4 layers) and checks that targets.
package org.vlmr1.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.vlmr1.data.Example;
import org.vlmr1.data.JsonlDataset;
import org.vlmr1.data.SyntheticRec;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.trainer.GrpoConfig;
import org.vlmr1.trainer.GrpoTrainer;
import org.vlmr1.trainer.RolloutOptions;
import org.vlmr1.trainer.StepMetrics;

/** The train suite. */
final class TrainSuite implements BenchSuite {
  static final String STAGES_OP = "grpoStepStages";
  /** The rows' small model: hidden 64, 2 layers. */
  static final QwenTiny.Spec SMALL_MODEL = new QwenTiny.Spec(64, 2, 4, 2, 128, 2, 64, 2, 0);
  /** Issue 18's model: hidden 256, 4 layers (GenerateSuite's at --hidden 256). */
  static final QwenTiny.Spec STAGES_MODEL = new QwenTiny.Spec(256, 4, 8, 2, 768, 2, 64, 2, 0);
  /** Issue 18's targets on its step: the Python peer's peak RSS, and the stage times the issue asks for. */
  static final double TARGET_GENERATE_S = 1.3;
  static final double TARGET_LOSS_S = 2.6;
  static final double TARGET_RSS_GB = 3.0;

  @Override
  public List<String> summary(List<BenchResult> results, double copyBytesPerSecond) {
    List<String> lines = new java.util.ArrayList<>();
    for (BenchResult r : results) {
      if (!r.op().equals(STAGES_OP)) {
        continue;
      }
      java.util.Map<String, String> x = r.extras();
      lines.add("issue 18 targets (" + r.shape() + "):");
      lines.add(target("generate stage", number(x, "generate_s"), TARGET_GENERATE_S, "s"));
      lines.add(target("loss stage", number(x, "loss_s"), TARGET_LOSS_S, "s"));
      lines.add(target("peak RSS", number(x, "peak_rss_gb"), TARGET_RSS_GB, "GB"));
    }
    return lines;
  }

  private static Double number(java.util.Map<String, String> extras, String key) {
    String v = extras.get(key);
    return v == null ? null : Double.valueOf(v);
  }

  private static String target(String what, Double value, double limit, String unit) {
    if (value == null) {
      return String.format(java.util.Locale.ROOT, "  %-15s n/a", what);
    }
    return String.format(java.util.Locale.ROOT, "  %-15s %6.2f %s  (target <= %.1f %s: %s)", what, value, unit, limit,
        unit, value <= limit ? "met" : "NOT met");
  }

  @Override
  public String name() {
    return "train";
  }

  @Override
  public List<BenchCase> cases(BenchOptions o) {
    int batch = (int) (o.rows() > 0 ? o.rows() : 16);
    int len = o.quick() ? 16 : 32;
    List<BenchCase> out = new java.util.ArrayList<>();
    String shape = "N=" + batch + " G=4 completion=" + len + " model=tiny-qwen2_5_vl-h64-L2";
    int w = o.nprocPerNode();
    if (o.wants("grpoStep", "f32")) {
      out.add(new BenchCase("grpo-step", "grpoStep", "vlmr1", shape, "f32", () -> new Row(batch, len)));
      if (w > 1) {
        int steps = o.warmup() + o.iterations();
        out.add(new BenchCase("grpo-step-1proc", "grpoStep", "1proc-gas" + w, shape, "f32",
            () -> new Row(batch / w, len, w, org.vlmr1.distributed.SingleProcess.INSTANCE, SMALL_MODEL,
                RolloutOptions.DEFAULT)));
        out.add(new BenchCase("grpo-step-" + w + "proc", "grpoStep", w + "proc-gloo", shape, "f32",
            () -> Row.distributed(batch / w, len, w, steps, "step")));
      }
    }
    // The step that issue 18 measured against the Python peer, with its stages, memory and GC: minutes at its
    // vocabulary-sized head, so --quick runs it only when asked for by name.
    // "old-rollouts" generates as before issue 15 (every row prefills its prompt, the cache grown by cat, the Java
    // sampler, every row to the end): the step's generation time before and after the engine, same tokens.
    if (o.wants(STAGES_OP, "f32") && (!o.quick() || o.ops().contains(STAGES_OP))) {
      for (boolean engine : new boolean[] {true, false}) {
        out.add(new BenchCase("grpo-step-stages-h256" + (engine ? "" : "-old-rollouts"), STAGES_OP,
            engine ? "vlmr1" : "old-rollouts", "N=16 G=4 completion=" + len
            + " model=tiny-qwen2_5_vl-h256-L4 V=151936 image=112x84", "f32",
            () -> new Row(16, len, 1, org.vlmr1.distributed.SingleProcess.INSTANCE, STAGES_MODEL,
                engine ? RolloutOptions.DEFAULT : RolloutOptions.oldPath())));
      }
    }
    if (w > 1 && o.wants("gradAllReduce", "f32")) {
      int steps = o.warmup() + o.iterations();
      out.add(new BenchCase("grad-allreduce-" + w + "proc", "gradAllReduce", w + "proc-gloo",
          "model=tiny-qwen2_5_vl-h64-L2 all trainable gradients", "f32",
          () -> Row.distributed(batch / w, len, w, steps, "allreduce")));
    }
    return out;
  }

  /** A helper rank of a distributed row: {@code java ... TrainSuite <batch> <len> <world> <steps> <kind>}. */
  public static void main(String[] a) throws Exception {
    org.vlmr1.distributed.DistEnv env = org.vlmr1.distributed.DistEnv.fromEnv(System.getenv(),
        java.time.Duration.ofMinutes(5));
    try (org.vlmr1.distributed.GlooGroup g = org.vlmr1.distributed.GlooGroup.join(env);
        Row r = new Row(Integer.parseInt(a[0]), Integer.parseInt(a[1]), Integer.parseInt(a[2]), g, SMALL_MODEL,
            RolloutOptions.DEFAULT)) {
      r.kind = a[4];
      for (int i = 0; i < Integer.parseInt(a[3]); i++) {
        r.run();
      }
    }
    System.exit(0);
  }

  static final class Row implements Measured {
    final Path dir;
    final QwenVlModel policy;
    final QwenVlModel ref;
    final GrpoTrainer trainer;
    final int batch;
    final int len;
    final int world;
    final org.vlmr1.distributed.Collectives group;
    final List<Process> helpers = new java.util.ArrayList<>();
    final List<Double> allReduceSeconds = new java.util.ArrayList<>();
    String kind = "step";
    long lastTokens;
    StepStats stats = new StepStats();

    Row(int batch, int len) {
      this(batch, len, 1, org.vlmr1.distributed.SingleProcess.INSTANCE, SMALL_MODEL, RolloutOptions.DEFAULT);
    }

    /** Rank 0 of a W-process row: starts ranks 1..W-1 in their own JVMs, then joins the group. */
    static Row distributed(int batch, int len, int world, int steps, String kind) {
      int port;
      try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
        port = s.getLocalPort();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      List<Process> helpers = new java.util.ArrayList<>();
      try {
        for (int r = 1; r < world; r++) {
          ProcessBuilder pb = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-Xmx2g",
              "-cp", System.getProperty("java.class.path"), TrainSuite.class.getName(), String.valueOf(batch),
              String.valueOf(len), String.valueOf(world), String.valueOf(steps), kind);
          pb.environment().putAll(java.util.Map.of("RANK", String.valueOf(r), "LOCAL_RANK", String.valueOf(r),
              "WORLD_SIZE", String.valueOf(world), "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", String.valueOf(port),
              "OMP_NUM_THREADS", String.valueOf(org.vlmr1.distributed.Launcher.threadsPerWorker(world))));
          org.vlmr1.kernels.TorchRuntime.applyThreadEnv(pb.environment());
          pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.INHERIT);
          helpers.add(pb.start());
        }
      } catch (IOException e) {
        helpers.forEach(Process::destroyForcibly);
        throw new UncheckedIOException(e);
      }
      org.vlmr1.kernels.TorchRuntime.load();
      org.bytedeco.pytorch.global.torch.set_num_threads(org.vlmr1.distributed.Launcher.threadsPerWorker(world));
      org.vlmr1.distributed.GlooGroup g = org.vlmr1.distributed.GlooGroup.join(new org.vlmr1.distributed.DistEnv(0,
          0, world, "127.0.0.1", port, java.time.Duration.ofMinutes(5)));
      Row row = new Row(batch, len, world, g, SMALL_MODEL, RolloutOptions.DEFAULT);
      row.kind = kind;
      row.helpers.addAll(helpers);
      return row;
    }

    /**
     * @param batch completions per process and micro-batch; world processes, or accumulation steps for one
     * @param rollout how the step generates (the engine, or the old path for the before/after row)
     */
    Row(int batch, int len, int world, org.vlmr1.distributed.Collectives group, QwenTiny.Spec spec,
        RolloutOptions rollout) {
      this.batch = batch * world;
      this.len = len;
      this.world = world;
      this.group = group;
      try {
        dir = Files.createTempDirectory("vlmr1-bench-train");
        Path model = dir.resolve("model");
        QwenTiny.write(spec, model);
        Path jsonl = SyntheticRec.write(dir.resolve("data"), 32, 112, 84, 0);
        List<Example> data = JsonlDataset.load(new JsonlDataset.Spec(List.of(jsonl), List.of(dir.resolve("data")),
            null, JsonlDataset.OnBadSample.FAIL, false)).examples();
        VlmModule module = VlmModules.forCheckpoint(model, null, ModuleOptions.DEFAULTS
            .withProcessing("min_pixels", 3136L).withProcessing("max_pixels", 12544L));
        policy = QwenVlModel.load(model);
        ref = QwenVlModel.load(model);
        boolean dp = group.worldSize() > 1;
        GrpoConfig cfg = GrpoConfig.builder().numGenerations(4).perDeviceTrainBatchSize(batch)
            .gradientAccumulationSteps(dp ? 1 : world).worldSize(group.worldSize()).maxCompletionLength(len)
            .maxSteps(1000).learningRate(1e-5).temperature(0.7).rollout(rollout).build();
        trainer = new GrpoTrainer(cfg, module, policy, ref, List.of(module.selectRewardFunction("accuracy", "rec"),
            module.selectRewardFunction("format", "rec")), data, "rec", group);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public void run() {
      if (kind.equals("allreduce")) {
        trainer.allReduceGradientsForBench();
        return;
      }
      java.util.List<java.lang.management.MemoryPoolMXBean> heap = heapPools();
      heap.forEach(java.lang.management.MemoryPoolMXBean::resetPeakUsage);
      StepMetrics m = trainer.step();
      lastTokens = m.completionTokens();
      stats.add(m.seconds(), heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum());
      if (m.seconds().containsKey("allreduce")) {
        allReduceSeconds.add(m.seconds().get("allreduce"));
      }
    }

    @Override
    public void timedRunsStart() {
      stats = new StepStats();
    }

    @Override
    public java.util.Map<String, String> extras() {
      return stats.extras();
    }

    private static java.util.List<java.lang.management.MemoryPoolMXBean> heapPools() {
      return java.lang.management.ManagementFactory.getMemoryPoolMXBeans().stream()
          .filter(p -> p.getType() == java.lang.management.MemoryType.HEAP).toList();
    }

    @Override
    public double workPerRun() {
      if (kind.equals("allreduce")) {
        return trainer.gradientBytes() / 1e6;
      }
      return lastTokens > 0 ? lastTokens : (double) batch * len;
    }

    @Override
    public String unit() {
      return kind.equals("allreduce") ? "MB/s" : "tokens/s";
    }

    @Override
    public void close() {
      if (!allReduceSeconds.isEmpty()) {
        List<Double> s = new java.util.ArrayList<>(allReduceSeconds);
        s.sort(null);
        System.err.printf("  (rank 0: all-reduce inside the step, median %.1f ms per step over %d steps)%n",
            s.get(s.size() / 2) * 1e3, s.size());
      }
      for (Process p : helpers) {
        try {
          if (!p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES)) {
            p.destroyForcibly();
          }
        } catch (InterruptedException e) {
          p.destroyForcibly();
          Thread.currentThread().interrupt();
        }
      }
      group.close();
      trainer.close();
      policy.close();
      ref.close();
      TempFolders.delete(dir);
    }
  }

  /**
   * Per-step figures of the timed runs: median seconds per stage (the trainer's own timers), the Java heap's
   * high-water mark (the largest sum over heap pools of their peak use within one step), GC time per step, and the
   * process's peak RSS since the timed runs began (VmHWM, after the harness's reset).
   */
  static final class StepStats {
    private final java.util.Map<String, java.util.List<Double>> seconds = new java.util.LinkedHashMap<>();
    private final long gcMs0 = gcMillis();
    private long heapPeak;
    private int steps;

    void add(java.util.Map<String, Double> stepSeconds, long heapPeakBytes) {
      for (String stage : new String[] {"generate", "score", "loss", "optimizer"}) {
        if (stepSeconds.containsKey(stage)) {
          seconds.computeIfAbsent(stage, k -> new java.util.ArrayList<>()).add(stepSeconds.get(stage));
        }
      }
      heapPeak = Math.max(heapPeak, heapPeakBytes);
      steps++;
    }

    java.util.Map<String, String> extras() {
      java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
      seconds.forEach((stage, v) -> out.put(stage + "_s", fmt(median(v))));
      if (steps > 0) {
        out.put("heap_hwm_mb", fmt(heapPeak / 1e6));
        out.put("gc_ms_per_step", fmt((gcMillis() - gcMs0) / (double) steps));
      }
      if (ProcMemory.available()) {
        out.put("peak_rss_gb", fmt(ProcMemory.peakBytes() / 1e9));
      }
      return out;
    }

    private static String fmt(double v) {
      return String.format(java.util.Locale.ROOT, "%.3f", v);
    }

    private static double median(java.util.List<Double> v) {
      java.util.List<Double> s = new java.util.ArrayList<>(v);
      s.sort(null);
      int n = s.size();
      return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private static long gcMillis() {
      long ms = 0;
      for (java.lang.management.GarbageCollectorMXBean g
          : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
        ms += Math.max(0, g.getCollectionTime());
      }
      return ms;
    }
  }
}
