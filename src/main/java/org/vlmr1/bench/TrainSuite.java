// bin/vlmr1 bench train: one GRPO optimizer step on a tiny Qwen2.5-VL (real vocabulary) with synthetic REC data:
// milliseconds per step and generated tokens per second. The per-stage breakdown of a real run is in its
// metrics.jsonl (time/generate, time/score, time/loss, time/optimizer). With --nproc_per_node N the same global batch
// also runs as 1 process x N accumulation steps and as N Gloo processes on loopback (the row's JVM is rank 0 and starts
// the others), and a row times the all-reduce of the model's whole gradient across N processes.
package org.vlmr1.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
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
import org.vlmr1.trainer.StepMetrics;

/** The train suite. */
final class TrainSuite implements BenchSuite {
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
            () -> new Row(batch / w, len, w, org.vlmr1.distributed.SingleProcess.INSTANCE)));
        out.add(new BenchCase("grpo-step-" + w + "proc", "grpoStep", w + "proc-gloo", shape, "f32",
            () -> Row.distributed(batch / w, len, w, steps, "step")));
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
        Row r = new Row(Integer.parseInt(a[0]), Integer.parseInt(a[1]), Integer.parseInt(a[2]), g)) {
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

    Row(int batch, int len) {
      this(batch, len, 1, org.vlmr1.distributed.SingleProcess.INSTANCE);
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
      Row row = new Row(batch, len, world, g);
      row.kind = kind;
      row.helpers.addAll(helpers);
      return row;
    }

    /** @param batch completions per process and micro-batch; world processes, or accumulation steps for one */
    Row(int batch, int len, int world, org.vlmr1.distributed.Collectives group) {
      this.batch = batch * world;
      this.len = len;
      this.world = world;
      this.group = group;
      try {
        dir = Files.createTempDirectory("vlmr1-bench-train");
        Path model = dir.resolve("model");
        QwenTiny.write(new QwenTiny.Spec(64, 2, 4, 2, 128, 2, 64, 2, 0), model);
        Path jsonl = SyntheticRec.write(dir.resolve("data"), 32, 112, 84, 0);
        List<Example> data = JsonlDataset.load(new JsonlDataset.Spec(List.of(jsonl), List.of(dir.resolve("data")),
            null, JsonlDataset.OnBadSample.FAIL, false)).examples();
        VlmModule module = VlmModules.forCheckpoint(model, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
            .withProcessing("max_pixels", 12544L));
        policy = QwenVlModel.load(model);
        ref = QwenVlModel.load(model);
        boolean dp = group.worldSize() > 1;
        GrpoConfig cfg = GrpoConfig.builder().numGenerations(4).perDeviceTrainBatchSize(batch)
            .gradientAccumulationSteps(dp ? 1 : world).worldSize(group.worldSize()).maxCompletionLength(len)
            .maxSteps(1000).learningRate(1e-5).temperature(0.7).build();
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
      StepMetrics m = trainer.step();
      lastTokens = m.completionTokens();
      if (m.seconds().containsKey("allreduce")) {
        allReduceSeconds.add(m.seconds().get("allreduce"));
      }
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
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // a temp folder left behind is harmless
      }
    }
  }
}
