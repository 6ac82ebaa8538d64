// The row of bench scale: reads the checkpoint's shards twice, loads it, adds VLM-R1's LoRA and builds the GRPO
// trainer in bf16 (prepare, in the row's forked JVM); each timed run is one optimizer step. Memory and timings go
// into the row's extras, which ScaleSuite's summary turns into the report.
package org.vlmr1.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.data.Example;
import org.vlmr1.data.JsonlDataset;
import org.vlmr1.data.SyntheticRec;
import org.vlmr1.model.LoraAdapters;
import org.vlmr1.model.LoraConfig;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenConfig;
import org.vlmr1.trainer.GrpoConfig;
import org.vlmr1.trainer.GrpoTrainer;
import org.vlmr1.trainer.Prompts;
import org.vlmr1.trainer.StepMetrics;

/** One bench scale run: prepared by the constructor, one GRPO step per {@link #run}. */
final class ScaleRow implements Measured {
  /** VLM-R1's run_grpo_rec_lora.sh: r 64, alpha 128, dropout 0.05, its default targets (null: VLM-R1's rule). */
  static final LoraConfig LORA = new LoraConfig(64, 128, 0.05, LoraConfig.TaskType.CAUSAL_LM, null);
  static final int STEPS = 2;
  static final int GENERATIONS = 4;
  static final int COMPLETION = 32;
  static final int IMAGE = 448;
  static final long SEED = 1;
  private static final double GIB = 1L << 30;

  private final boolean full;
  private final Path data;
  private final VlmModel policy;
  private final GrpoTrainer trainer;
  private final int steps;
  private final Map<String, String> extras = new LinkedHashMap<>();
  private int step;
  private long lastTokens;

  /**
   * @param full full fine-tuning (every weight trains, the vision tower included; the reference a second, frozen copy)
   *     instead of VLM-R1's LoRA configuration
   * @param steps the optimizer steps the harness will run (warm-up and timed), for the progress lines
   */
  ScaleRow(Path model, boolean full, int steps) {
    this.full = full;
    this.steps = steps;
    try {
      List<Path> shards;
      try (Stream<Path> s = Files.list(model)) {
        shards = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
      }
      if (shards.isEmpty()) {
        throw new IllegalArgumentException("no *.safetensors in " + model);
      }
      long bytes = 0;
      for (Path p : shards) {
        bytes += Files.size(p);
      }
      extras.put("model", model.toAbsolutePath().normalize().getFileName().toString());
      extras.put("checkpoint_gb", ScaleSuite.fmt(bytes / 1e9));
      // The plain read, twice: the first shows whether the shards were in the page cache already (its speed, and
      // how much the cache grew), the second is the warm read the load is compared with.
      for (int pass = 1; pass <= 2; pass++) {
        long cached0 = meminfoBytes("Cached:");
        long t0 = System.nanoTime();
        readAll(shards);
        double s = (System.nanoTime() - t0) / 1e9;
        double growth = (meminfoBytes("Cached:") - cached0) / 1e9;
        extras.put("read" + pass + "_s", ScaleSuite.fmt(s));
        extras.put("read" + pass + "_gb_per_s", ScaleSuite.fmt(bytes / 1e9 / s));
        if (pass == 1) {
          extras.put("read1_cache_growth_gb", ScaleSuite.fmt(growth));
          extras.put("page_cache", growth > 0.5 * bytes / 1e9 ? "cold" : growth < 0.1 * bytes / 1e9 ? "warm"
              : "partly-warm");
        }
        BenchWorker.progress(String.format(java.util.Locale.ROOT, "read %d of %d shards (%.2f GB): %.1f s, %.2f "
            + "GB/s, page cache grew %.2f GB", pass, shards.size(), bytes / 1e9, s, bytes / 1e9 / s, growth));
      }
      VlmModule module = VlmModules.forCheckpoint(model, null, ModuleOptions.DEFAULTS);
      // What the process holds before any weight: the JVM and libtorch (what MemoryModel does not count).
      extras.put("runtime_rss_gib", ScaleSuite.fmt(ProcMemory.rssBytes() / GIB));
      BenchWorker.progress("loading " + model + " ...");
      long t0 = System.nanoTime();
      policy = module.loadModel(model);
      double load = (System.nanoTime() - t0) / 1e9;
      extras.put("load_s", ScaleSuite.fmt(load));
      BenchWorker.progress(String.format(java.util.Locale.ROOT, "loaded in %.1f s, RSS %.2f GiB", load,
          ProcMemory.rssBytes() / GIB));
      long t1 = System.nanoTime();
      LoraAdapters lora = full ? null : policy.addLora(LORA, module.visionModulesKeywords(), SEED);
      // Full fine-tuning with beta > 0 keeps the reference as a second, frozen copy of the base (TRL's way).
      VlmModel reference = full ? module.loadModel(model) : null;
      data = Files.createTempDirectory("vlmr1-bench-scale");
      Path jsonl = SyntheticRec.write(data, STEPS, IMAGE, IMAGE, SEED);
      List<Example> examples = JsonlDataset.load(new JsonlDataset.Spec(List.of(jsonl), List.of(data), null,
          JsonlDataset.OnBadSample.FAIL, false)).examples();
      // One prompt per step: G completions of it are the step's micro-batch. VLM-R1's LoRA script: bf16 (float32
      // masters of the adapters under AdamW), gradient checkpointing, vision frozen; beta its default 0.04, so the
      // reference pass (the policy with its adapters off) runs.
      GrpoConfig cfg = GrpoConfig.builder().numGenerations(GENERATIONS).perDeviceTrainBatchSize(GENERATIONS)
          .gradientAccumulationSteps(1).maxCompletionLength(COMPLETION).maxSteps(Math.max(steps, 1))
          .learningRate(1e-5).bf16(true).gradientCheckpointing(true).freezeVisionModules(!full).seed(SEED).build();
      trainer = new GrpoTrainer(cfg, module, policy, reference, List.of(module.selectRewardFunction("accuracy", "rec"),
          module.selectRewardFunction("format", "rec")), examples, "rec");
      // Each stage's peak RSS (VmHWM since the previous stage ended), the highest over a step's micro-batches.
      trainer.stageProbe(stage -> {
        String key = "step" + step + "_" + stage + "_peak_rss_gib";
        double gib = ProcMemory.stagePeak() / GIB;
        extras.merge(key, ScaleSuite.fmt(gib), (a, b) -> Double.parseDouble(a) >= Double.parseDouble(b) ? a : b);
      });
      long trainable = 0;
      for (long i = 0; i < trainer.parameters().size(); i++) {
        trainable += trainer.parameters().get(i).numel();
      }
      extras.put("setup_s", ScaleSuite.fmt((System.nanoTime() - t1) / 1e9));
      extras.put("mode", full ? "full" : "lora");
      extras.put("lora_modules", full ? "0" : String.valueOf(lora.modules().size()));
      extras.put("trainable_params", String.valueOf(trainable));
      extras.put("adapter_dtype", String.valueOf(trainer.parameters().get(0).scalar_type()));
      long prompt = promptTokens(module, examples.get(0));
      extras.put("prompt_tokens", String.valueOf(prompt));
      estimate(model, prompt);
      extras.put("load_peak_rss_gib", ScaleSuite.fmt(ProcMemory.peakBytes() / GIB));
      BenchWorker.progress(String.format(java.util.Locale.ROOT, "%s (%d trainable parameters, %s), trainer ready; "
          + "RSS %.2f GiB, peak so far %.2f GiB", full ? "full fine-tuning" : "LoRA r " + LORA.r() + " on "
          + lora.modules().size() + " modules", trainable, extras.get("adapter_dtype"), ProcMemory.rssBytes() / GIB,
          ProcMemory.peakBytes() / GIB));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads every shard front to back through one 16 MiB buffer (what cat does). */
  private static void readAll(List<Path> shards) throws IOException {
    ByteBuffer buf = ByteBuffer.allocateDirect(16 << 20);
    for (Path p : shards) {
      try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
        while (ch.read(buf) >= 0) {
          buf.clear();
        }
      }
    }
  }

  /** A /proc/meminfo field in bytes (0 where there is no /proc). */
  private static long meminfoBytes(String key) throws IOException {
    Path p = Path.of("/proc/meminfo");
    if (!Files.isReadable(p)) {
      return 0;
    }
    for (String line : Files.readAllLines(p)) {
      if (line.startsWith(key)) {
        return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]) * 1024;
      }
    }
    return 0;
  }

  /** The prompt's length in tokens, as the trainer builds it (template, image tokens). */
  private static long promptTokens(VlmModule module, Example e) {
    try (PointerScope s = new PointerScope()) {
      List<Example> one = List.of(e);
      ModelInputs in = module.prepareModelInputs(module.preparePrompt(Prompts.conversations(module, one, "rec")),
          Prompts.images(one));
      return in.inputIds().size(1);
    }
  }

  /** MemoryModel's estimate of this configuration (Qwen2.5-VL checkpoints; "n/a" for other families). */
  private void estimate(Path model, long prompt) {
    MemoryModel.Arch a;
    try {
      QwenConfig c = QwenConfig.read(model);
      QwenConfig.Vision v = c.vision();
      a = new MemoryModel.Arch(extras.get("model"), c.vocabSize(), c.hiddenSize(), c.numLayers(), c.numHeads(),
          c.numKvHeads(), c.intermediateSize(), c.tieWordEmbeddings(), MemoryModel.qwenVisionParams(v.hiddenSize(),
          v.intermediateSize(), v.depth(), v.outHiddenSize()));
      extras.put("layers", String.valueOf(c.numLayers()));
      extras.put("vision_depth", String.valueOf(v.depth()));
      extras.put("params_b", String.format(java.util.Locale.ROOT, "%.3f", a.params() / 1e9));
    } catch (IOException | RuntimeException e) {
      extras.put("estimate_gib", "n/a");
      return;
    }
    long seq = prompt + COMPLETION;
    long tokens = GENERATIONS * seq;
    MemoryModel.Estimate e = MemoryModel.estimate(a, new MemoryModel.Setup(full ? MemoryModel.Mode.FULL
        : MemoryModel.Mode.LORA, LORA.r(), true, true, 2, 2, tokens, seq, (long) GENERATIONS * COMPLETION, true));
    extras.put("estimate_tokens", GENERATIONS + "x" + seq);
    extras.put("estimate_gib", ScaleSuite.fmt(e.total() / GIB));
    extras.put("estimate_weights_gib", ScaleSuite.fmt(e.weights() / GIB));
    extras.put("estimate_reference_gib", ScaleSuite.fmt(e.reference() / GIB));
    extras.put("estimate_optimizer_gib", ScaleSuite.fmt((e.gradients() + e.adamMoments() + e.masters()) / GIB));
    extras.put("estimate_head_gib", ScaleSuite.fmt(e.head() / GIB));
    extras.put("estimate_optimizer_step_gib", ScaleSuite.fmt(e.optimizerStep() / GIB));
    extras.put("estimate_activations_gib", ScaleSuite.fmt(e.activations() / GIB));
    extras.put("estimate_logits_gib", ScaleSuite.fmt(e.logits() / GIB));
  }

  @Override
  public void run() {
    step++;
    BenchWorker.progress("step " + step + "/" + steps + " ...");
    ProcMemory.stagePeak(); // the first stage's peak starts here
    StepMetrics m = trainer.step();
    lastTokens = m.completionTokens();
    Map<String, String> stages = ScaleSuite.stageExtras(step, m.seconds());
    extras.putAll(stages);
    extras.put("step" + step + "_loss", String.format(java.util.Locale.ROOT, "%.6g", m.loss()));
    BenchWorker.progress("step " + step + "/" + steps + " done: " + (m.skipped() ? "SKIPPED, " : "")
        + stages.toString().replace("step" + step + "_", "") + ", " + m.completionTokens() + " tokens, RSS "
        + ScaleSuite.fmt(ProcMemory.rssBytes() / GIB) + " GiB, peak " + ScaleSuite.fmt(ProcMemory.peakBytes() / GIB)
        + " GiB");
    if (m.skipped()) {
      throw new IllegalStateException("step " + step + " was skipped (non-finite loss or gradients): not a "
          + "measurement of a training step");
    }
  }

  @Override
  public double workPerRun() {
    return lastTokens > 0 ? lastTokens : GENERATIONS * COMPLETION;
  }

  @Override
  public String unit() {
    return "tokens/s";
  }

  @Override
  public Map<String, String> extras() {
    Map<String, String> out = new LinkedHashMap<>(extras);
    double steps = ProcMemory.peakBytes() / GIB; // the harness reset VmHWM after this row's prepare
    out.put("steps_peak_rss_gib", ScaleSuite.fmt(steps));
    out.put("peak_rss_gib", ScaleSuite.fmt(Math.max(steps, Double.parseDouble(extras.get("load_peak_rss_gib")))));
    out.put("xmx_gib", ScaleSuite.fmt(Runtime.getRuntime().maxMemory() / GIB));
    long heap = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        heap += p.getPeakUsage().getUsed();
      }
    }
    out.put("heap_hwm_gib", ScaleSuite.fmt(heap / GIB));
    double wall = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
    out.put("wall_s", ScaleSuite.fmt(wall));
    // what a training run would take: the row's JVM without the bench's own two reads of the shards
    out.put("run_s", ScaleSuite.fmt(wall - Double.parseDouble(extras.get("read1_s"))
        - Double.parseDouble(extras.get("read2_s"))));
    return out;
  }

  @Override
  public void close() {
    trainer.close();
    policy.close();
    TempFolders.delete(data);
  }
}
