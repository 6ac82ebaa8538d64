// bin/vlmr1 bench generate: tokens per second of batched generation on a tiny random Qwen2.5-VL checkpoint (real
// vocabulary): greedy with the preallocated KV cache, the cache grown by cat, and recomputing the full sequence every
// step; and VLM-R1's rollout sampling (temperature 1, top-k 50) on the preallocated cache. The grpoRollout rows are
// issue 15's case (b): a GRPO-shaped rollout on the old path and on the engine, side by side (GrpoRolloutRow).
package org.vlmr1.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.KvCache;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;

/** The generate suite. */
final class GenerateSuite implements BenchSuite {
  @Override
  public String name() {
    return "generate";
  }

  @Override
  public List<BenchCase> cases(BenchOptions o) {
    int batch = (int) (o.rows() > 0 ? o.rows() : 4);
    int newTokens = o.quick() ? 16 : 64;
    // a long completion, where growing the cache by cat (quadratic copying) shows against the preallocated one
    int longTokens = o.quick() ? 64 : 256;
    int hidden = (int) (o.hidden() > 0 ? o.hidden() : 256);
    List<BenchCase> cases = new ArrayList<>();
    if (o.wants("generate", "f32")) {
      for (Impl impl : Impl.values()) {
        cases.add(row(impl, batch, newTokens, hidden));
      }
      cases.add(row(Impl.KV_CACHE, batch, longTokens, hidden));
      cases.add(row(Impl.KV_CACHE_CAT, batch, longTokens, hidden));
    }
    addRollouts(cases, o);
    if (!o.wants("kv-append", "f32")) {
      return cases;
    }
    // The cache alone at a GRPO-shaped size (16 rows, a 300-token image prompt, Qwen2.5-VL-3B's 2 KV heads of 128
    // dims), without the model whose LM head hides it on the tiny checkpoint.
    for (boolean pre : new boolean[] {true, false}) {
      String impl = pre ? "preallocated" : "cat";
      cases.add(new BenchCase("kv-append-" + impl + "-" + longTokens, "kv-append", impl, "B=16 kv=2 hd=128 layers=8"
          + " prompt=300 new=" + longTokens, "f32", () -> new AppendRow(16, 2, 128, 8, 300, longTokens, pre)));
    }
    return cases;
  }

  /**
   * Case (b): 2 groups of G = 8 over one image prompt each, 128 new tokens, on the wider and the tiny model: the old
   * path, the engine, and the engine with its opt-in pruned head (engine-pruned: its own gain). --quick:
   * the tiny model only, a 224x224 image (64 image tokens) and 32 new tokens.
   */
  private static void addRollouts(List<BenchCase> cases, BenchOptions o) {
    if (!o.wants(ROLLOUT, "f32")) {
      return;
    }
    int newTokens = o.quick() ? 32 : 128;
    int side = o.quick() ? 224 : 448;
    cases.add(0, CopyBandwidth.benchCase(o)); // first: the decode-step floors use it
    for (GrpoRolloutRow.Model m : GrpoRolloutRow.Model.values()) {
      if (o.quick() && m != GrpoRolloutRow.Model.TINY) {
        continue;
      }
      for (GrpoRolloutRow.Route r : GrpoRolloutRow.Route.values()) {
        String shape = "B=" + GROUPS * GROUP + " P=" + GROUPS + " G=" + GROUP + " image=" + side + "x" + side
            + " new=" + newTokens + " topk50 model=" + m.label;
        // The old row decodes as the previous release did, through torch.linear (OpenBLAS re-packing every
        // weight per token) rather than our read-once kernel; it shares the in-place grouped-query attention.
        cases.add(new BenchCase("grpo-rollout-" + m.label + "-" + r.label, ROLLOUT, r.label, shape, "f32",
            () -> new GrpoRolloutRow(m, r, GROUPS, GROUP, newTokens, side, o.warmup()),
            r == GrpoRolloutRow.Route.OLD ? Map.of("vlmr1.kernels", "composite") : Map.of()));
      }
    }
  }

  static final String ROLLOUT = "grpoRollout";
  static final int GROUPS = 2;
  static final int GROUP = 8;

  @Override
  public List<String> summary(List<BenchResult> results, double bandwidth) {
    List<String> lines = new ArrayList<>();
    List<BenchResult> rollouts = results.stream().filter(r -> r.op().equals(ROLLOUT)).collect(Collectors.toList());
    if (rollouts.isEmpty()) {
      return lines;
    }
    lines.add("");
    lines.add(String.format(Locale.ROOT, "copy bandwidth %.1f GB/s (read + write)", bandwidth / 1e9));
    lines.add("GRPO-shaped rollout (issue 15 case b), old path vs engine (same run; each row its own JVM):");
    lines.add(String.format(Locale.ROOT, "  %-10s %-7s %10s %11s %12s %12s %9s %11s %6s", "model", "path",
        "tokens/s", "prefill ms", "step ms", "floor ms", "x floor", "peak extra", "compact"));
    for (BenchResult r : rollouts) {
      double floorMs = floorMs(r, bandwidth);
      double step = num(r, "step_ms");
      lines.add(String.format(Locale.ROOT, "  %-10s %-7s %10.1f %11.1f %12.2f %12.2f %9.2f %11s %6s",
          model(r), r.impl(), r.throughput(), num(r, "prefill_ms"), step, floorMs, step / floorMs,
          BenchRunner.mib(r.peakExtraBytes()), r.extras().getOrDefault("compactions", "?")));
    }
    for (GrpoRolloutRow.Model m : GrpoRolloutRow.Model.values()) {
      Optional<BenchResult> old = find(rollouts, m, GrpoRolloutRow.Route.OLD);
      Optional<BenchResult> eng = find(rollouts, m, GrpoRolloutRow.Route.ENGINE);
      Optional<BenchResult> pruned = find(rollouts, m, GrpoRolloutRow.Route.ENGINE_PRUNED);
      if (eng.isPresent() && pruned.isPresent()) {
        lines.add(String.format(Locale.ROOT, "  %-10s pruned head: engine-pruned/engine %.2fx tokens/s, step %.2f "
            + "vs %.2f ms, token ids %s", m.label, pruned.get().throughput() / eng.get().throughput(),
            num(pruned.get(), "step_ms"), num(eng.get(), "step_ms"),
            pruned.get().extras().get("ids").equals(eng.get().extras().get("ids")) ? "identical"
                : "DIFFER in rows " + differingRows(eng.get(), pruned.get())));
      }
      if (old.isEmpty() || eng.isEmpty()) {
        continue;
      }
      double speed = eng.get().throughput() / old.get().throughput();
      double overFloor = num(eng.get(), "step_ms") / floorMs(eng.get(), bandwidth);
      String same = eng.get().extras().get("ids").equals(old.get().extras().get("ids")) ? "identical"
          : "DIFFER in rows " + differingRows(old.get(), eng.get());
      String target = m == GrpoRolloutRow.Model.WIDE
          ? "  [targets: >= 4x old tokens/s " + (speed >= 4 ? "met" : "NOT met") + "; step <= 3x floor "
              + (overFloor <= 3 ? "met" : "NOT met") + "]"
          : "  [reported, not targeted]";
      lines.add(String.format(Locale.ROOT, "  %-10s engine/old %.2fx tokens/s, prefill %.2fx faster, step %.2fx "
          + "faster, engine step %.2fx its floor, token ids %s%s", m.label, speed,
          num(old.get(), "prefill_ms") / num(eng.get(), "prefill_ms"),
          num(old.get(), "step_ms") / num(eng.get(), "step_ms"), overFloor, same, target));
    }
    return lines;
  }

  private static Optional<BenchResult> find(List<BenchResult> rs, GrpoRolloutRow.Model m, GrpoRolloutRow.Route r) {
    return rs.stream().filter(x -> x.impl().equals(r.label) && x.shape().endsWith("model=" + m.label)).findFirst();
  }

  private static String model(BenchResult r) {
    return r.shape().substring(r.shape().lastIndexOf("model=") + "model=".length());
  }

  private static double num(BenchResult r, String key) {
    String v = r.extras().get(key);
    return v == null ? Double.NaN : Double.parseDouble(v);
  }

  /** The floor of a decode step: weights + the live cache read once at the measured copy bandwidth. */
  private static double floorMs(BenchResult r, double bandwidth) {
    // CopyBandwidth counts read + write; a decode step's floor is reads, so it moves at the same bytes per second
    return bandwidth > 0 ? num(r, "floor_bytes_per_step") / bandwidth * 1e3 : Double.NaN;
  }

  private static String differingRows(BenchResult a, BenchResult b) {
    String[] x = a.extras().get("ids").split(",");
    String[] y = b.extras().get("ids").split(",");
    List<Integer> rows = new ArrayList<>();
    for (int i = 0; i < Math.min(x.length, y.length); i++) {
      if (!x[i].equals(y[i])) {
        rows.add(i);
      }
    }
    return rows.toString();
  }

  private static BenchCase row(Impl impl, int batch, int newTokens, int hidden) {
    return new BenchCase("generate-" + impl.label + "-" + newTokens, "generate", impl.label, "N=" + batch + " new="
        + newTokens + " model=tiny-qwen2_5_vl-h" + hidden + "-L4", "f32", () -> new Row(batch, newTokens, hidden,
        impl));
  }

  /** How the rows decode. */
  enum Impl {
    /** The KV cache preallocated for prompt + new tokens, written in place (generateCompletions' default). */
    KV_CACHE("kv-cache"),
    /** The preallocated cache with VLM-R1's rollout sampling (temperature 1, top-k 50) instead of greedy. */
    KV_CACHE_TOPK50("kv-cache-topk50"),
    /** The KV cache grown by torch.cat at every step (the path before issue 15). */
    KV_CACHE_CAT("kv-cache-cat"),
    /** A full forward over prompt + generated tokens for every new token. */
    NO_CACHE("no-cache");

    final String label;

    Impl(String label) {
      this.label = label;
    }
  }

  /** Prefill then one token per step into every layer's cache: the appends of a decode, nothing else. */
  static final class AppendRow implements Measured {
    final Tensor promptK;
    final Tensor stepK;
    final int layers;
    final int newTokens;
    final boolean preallocated;
    final long rows;

    AppendRow(long rows, long kvHeads, long headDim, int layers, long prompt, int newTokens, boolean preallocated) {
      this.rows = rows;
      this.layers = layers;
      this.newTokens = newTokens;
      this.preallocated = preallocated;
      promptK = torch.randn(rows, kvHeads, prompt, headDim);                           // (B, kv, L, hd)
      stepK = torch.randn(rows, kvHeads, 1, headDim);                                  // (B, kv, 1, hd)
    }

    @Override
    public void run() {
      try (KvCache c = preallocated ? new KvCache(layers, promptK.size(2) + newTokens) : new KvCache(layers)) {
        try (PointerScope s = new PointerScope()) {
          for (int i = 0; i < layers; i++) {
            c.append(i, promptK, promptK);
          }
        }
        for (int t = 0; t < newTokens; t++) {
          try (PointerScope s = new PointerScope()) {
            for (int i = 0; i < layers; i++) {
              c.append(i, stepK, stepK);
            }
          }
        }
      }
    }

    @Override
    public double workPerRun() {
      return (double) rows * newTokens;
    }

    @Override
    public String unit() {
      return "tokens/s";
    }

    @Override
    public void close() {
      promptK.close();
      stepK.close();
    }
  }

  /** A prepared batch that outlives every PointerScope: a row keeps it for all its runs (release by closing). */
  static ModelInputs prepared(VlmModule module, List<Conversation> conv, List<List<RgbImage>> images) {
    try (PointerScope keep = new PointerScope()) {
      ModelInputs inputs = module.prepareModelInputs(module.preparePrompt(conv), images);
      inputs.inputIds().retainReference();
      inputs.attentionMask().retainReference();
      inputs.multimodal().values().forEach(Tensor::retainReference);
      return inputs;
    }
  }

  static final class Row implements Measured {
    final Path dir;
    final QwenVlModel model;
    final ModelInputs inputs;
    final VlmModule module;
    final int newTokens;
    final Impl impl;
    final int batch;

    Row(int batch, int newTokens, int hidden, Impl impl) {
      this.batch = batch;
      this.newTokens = newTokens;
      this.impl = impl;
      try {
        dir = Files.createTempDirectory("vlmr1-bench-generate");
        QwenTiny.write(new QwenTiny.Spec(hidden, 4, 8, 2, hidden * 3, 2, 64, 2, 1), dir);
        module = VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
            .withProcessing("max_pixels", 50176L));
        model = QwenVlModel.load(dir);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      List<Conversation> conv = new ArrayList<>();
      List<List<RgbImage>> images = new ArrayList<>();
      java.util.Random rnd = new java.util.Random(5);
      for (int i = 0; i < batch; i++) {
        conv.add(Conversation.userTurn(1, "Please provide the bounding box of the red object number " + i + "."));
        byte[] px = new byte[320 * 240 * 3];
        rnd.nextBytes(px);
        images.add(List.of(new RgbImage(320, 240, px)));
      }
      inputs = prepared(module, conv, images);
    }

    @Override
    public void run() {
      if (impl == Impl.KV_CACHE || impl == Impl.KV_CACHE_TOPK50) {
        SamplingConfig sampling = impl == Impl.KV_CACHE ? SamplingConfig.greedy(newTokens)
            : new SamplingConfig(false, 1.0, 50, 1.0, 7, newTokens);
        model.generateCompletions(inputs.inputIds(), inputs.attentionMask(), inputs.multimodal(),
            sampling, new long[] {-1}, module.padTokenId(), 0, 0, false);
        return;
      }
      if (impl == Impl.KV_CACHE_CAT) {
        try (KvCache growing = model.newCache()) {
          model.generateCompletions(inputs.inputIds(), inputs.attentionMask(), inputs.multimodal(),
              SamplingConfig.greedy(newTokens), new long[] {-1}, module.padTokenId(), 0, 0, false, growing);
        }
        return;
      }
      // Without a cache: a full forward over prompt + generated tokens for every new token.
      try (PointerScope s = new PointerScope()) {
        Tensor ids = inputs.inputIds();
        Tensor mask = inputs.attentionMask();
        for (int t = 0; t < newTokens; t++) {
          Tensor h = model.forward(ids, mask, inputs.multimodal(), false).lastHidden().select(1, ids.size(1) - 1);
          Tensor next = torch.argmax(torch.linear(h, model.lmHead()), new org.bytedeco.pytorch.LongOptional(1), true);
          ids = torch.cat(new TensorVector(ids, next), 1);
          mask = torch.cat(new TensorVector(mask, torch.ones_like(next)), 1);
        }
      }
    }

    @Override
    public double workPerRun() {
      return (double) batch * newTokens;
    }

    @Override
    public String unit() {
      return "tokens/s";
    }

    @Override
    public void close() {
      model.close();
      TempFolders.delete(dir);
    }
  }
}
