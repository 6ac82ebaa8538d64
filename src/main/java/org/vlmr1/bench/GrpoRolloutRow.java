// bin/vlmr1 bench generate, case (b) of issue 15: a GRPO-shaped rollout (one 448x448 image prompt per group, G = 8,
// 2 groups, temperature 1, top-k 50) on the old path (each prompt repeated G times, the cache grown by cat, the Java
// sampler, every row to the end; GenerateSuite runs it with torch.linear in decode, as before) or the engine (each
// prompt prefilled once, the preallocated cache, the tensor sampler, finished rows compacted away). EOS is forced at
// fixed lengths by a logit bias, so both paths stop rows at the same positions and produce the same tokens.
package org.vlmr1.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.GenerationOptions;
import org.vlmr1.model.Generator;
import org.vlmr1.model.KvCache;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;

/** One path of the GRPO-shaped rollout; its extras carry prefill ms, decode ms per step and the step's floor. */
final class GrpoRolloutRow implements Measured {
  /**
   * The demo's completion lengths (bin/vlmr1 train --demo, seeds 0-2, 240 GRPO steps of 16 rows): the per-step mean
   * completion_length is 33.05 tokens of max_completion_length 48, and its spread across steps (sd 0.38 of a
   * 16-row mean) puts the per-row sd near 0.38 x sqrt(16) = 1.5 tokens. Lengths are drawn as that fraction of the
   * budget, scaled to this row's new tokens.
   */
  static final double DEMO_MEAN = 33.05;
  static final double DEMO_SD = 1.5;
  static final double DEMO_MAX = 48;
  static final long LENGTH_SEED = 15;
  static final long SAMPLING_SEED = 7;
  /** Added to (or, before a row's length, subtracted from) the EOS logit: finite, so no softmax sees inf - inf. */
  static final float FORCE = 1e9f;

  /** The decoder sizes of a rollout model. */
  enum Model {
    /** The wider model: Qwen2.5-like proportions (64-dim heads, 8 query heads per KV head). */
    WIDE("h1024-L8", new QwenTiny.Spec(1024, 8, 16, 2, 2816, 2, 64, 2, 1)),
    /** The tiny model of the other generate rows, where the 151,936-row LM head dominates a step. */
    TINY("h256-L4", new QwenTiny.Spec(256, 4, 8, 2, 768, 2, 64, 2, 1));

    final String label;
    final QwenTiny.Spec spec;

    Model(String label, QwenTiny.Spec spec) {
      this.label = label;
      this.spec = spec;
    }
  }

  /** Old path, engine, or the engine with its pruned head (opt-in; its own gain beside the engine). */
  enum Route {
    OLD("old"),
    ENGINE("engine"),
    ENGINE_PRUNED("engine-pruned");

    final String label;

    Route(String label) {
      this.label = label;
    }
  }

  final Path dir;
  final QwenVlModel model;
  final VlmModule module;
  final ModelInputs inputs;
  final Route path;
  final Model spec;
  final int groups;
  final int g;
  final int newTokens;
  final int[] lengths;
  final int[] rowPrompt;
  final long promptLength;
  final long weightBytes;
  final int warmup;
  final List<Double> prefillMs = new ArrayList<>();
  final List<Double> stepMs = new ArrayList<>();
  long[] hookNanos;
  int hookCalls;
  long produced;
  int compactions;
  String idsDigest = "";

  GrpoRolloutRow(Model spec, Route path, int groups, int g, int newTokens, int imageSide, int warmup) {
    this.spec = spec;
    this.path = path;
    this.groups = groups;
    this.g = g;
    this.newTokens = newTokens;
    this.warmup = warmup;
    this.lengths = lengths(groups * g, newTokens);
    this.rowPrompt = new int[groups * g];
    for (int r = 0; r < rowPrompt.length; r++) {
      rowPrompt[r] = r / g;
    }
    try {
      dir = Files.createTempDirectory("vlmr1-bench-rollout");
      QwenTiny.write(spec.spec, dir);
      long pixels = (long) imageSide * imageSide;
      module = VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
          .withProcessing("max_pixels", Math.max(3136L, pixels)));
      model = QwenVlModel.load(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // The old path prepares every completion row's prompt (each group's repeated G times), the engine each once.
    int rows = path == Route.OLD ? groups * g : groups;
    List<Conversation> conv = new ArrayList<>();
    List<List<RgbImage>> images = new ArrayList<>();
    Random rnd = new Random(5);
    List<RgbImage> groupImages = new ArrayList<>();
    for (int p = 0; p < groups; p++) {
      byte[] px = new byte[imageSide * imageSide * 3];
      rnd.nextBytes(px);
      groupImages.add(new RgbImage(imageSide, imageSide, px));
    }
    for (int i = 0; i < rows; i++) {
      int p = path == Route.OLD ? i / g : i;
      conv.add(Conversation.userTurn(1, "Please provide the bounding box coordinate of the region this sentence "
          + "describes: the red object number " + p + "."));
      images.add(List.of(groupImages.get(p)));
    }
    inputs = GenerateSuite.prepared(module, conv, images); // lives for the whole row
    promptLength = inputs.inputIds().size(1);
    long imageTokens = imageTokensPerPrompt();
    long expected = (long) (imageSide / 28) * (imageSide / 28);
    if (imageTokens != expected) {
      throw new IllegalStateException("a " + imageSide + "x" + imageSide + " image should give " + expected
          + " image tokens after the merge, got " + imageTokens);
    }
    long bytes = 0;
    for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
      // a decode step reads the decoder and the LM head; the vision tower ran in the prefill, and an untied
      // embedding is only gathered at B rows
      boolean untiedEmbedding = !model.lmHeadTied() && e.getKey().contains("embed_tokens");
      if (!e.getKey().startsWith("visual") && !untiedEmbedding) {
        bytes += e.getValue().nbytes();
      }
    }
    if (!model.lmHeadTied()) {
      bytes += model.lmHead().nbytes();
    }
    weightBytes = bytes;
  }

  /** Each completion row's forced length (EOS at position length - 1), from the demo's distribution. */
  static int[] lengths(int rows, int newTokens) {
    Random r = new Random(LENGTH_SEED);
    int[] out = new int[rows];
    for (int i = 0; i < rows; i++) {
      double demo = DEMO_MEAN + DEMO_SD * r.nextGaussian();
      out[i] = (int) Math.max(1, Math.min(newTokens, Math.round(demo / DEMO_MAX * newTokens)));
    }
    return out;
  }

  private long imageTokensPerPrompt() {
    long slot = model.imageSlotId();
    Tensor first = inputs.inputIds().select(0, 0);                                              // (L)
    long[] ids = new long[(int) first.size(0)];
    first.contiguous().data_ptr_long().get(ids);
    return Arrays.stream(ids).filter(x -> x == slot).count();
  }

  /**
   * Forces EOS at each row's length and keeps it out before; records when each step's logits arrive. It overwrites
   * the EOS column only, so the engine keeps its pruned head.
   */
  private GenerationOptions.LogitBias bias(long eos) {
    return new GenerationOptions.LogitBias() {
      @Override
      public Tensor apply(Tensor logits, int[] rows, int position) {
        hookNanos[hookCalls++] = System.nanoTime();
        float[] v = new float[rows.length];
        for (int i = 0; i < rows.length; i++) {
          v[i] = position == lengths[rows[i]] - 1 ? FORCE : -FORCE;
        }
        Tensor col = torch.tensor(v).to(logits.device(), logits.scalar_type().intern());     // (B')
        logits.select(1, eos).copy_(col);
        return logits;                                                                        // (B', V)
      }

      @Override
      public long[] overwrittenIds() {
        return new long[] {eos};
      }
    };
  }

  @Override
  public void run() {
    long eos = module.eosTokenIds()[0];
    SamplingConfig sampling = new SamplingConfig(false, 1.0, 50, 1.0, SAMPLING_SEED, newTokens);
    hookNanos = new long[newTokens + 1];
    hookCalls = 0;
    long t0 = System.nanoTime();
    Generator.Result r;
    if (path == Route.OLD) {
      GenerationOptions opts = GenerationOptions.OLD_PATH.withLogitBias(bias(eos));
      try (KvCache growing = model.newCache()) {
        r = model.generateCompletions(inputs.inputIds(), inputs.attentionMask(), inputs.multimodal(), sampling,
            module.eosTokenIds(), module.padTokenId(), 0, 0, false, Generator.identity(rowPrompt.length), opts,
            growing);
      }
    } else {
      GenerationOptions opts = GenerationOptions.DEFAULT.withLogitBias(bias(eos))
          .withPruneHead(path == Route.ENGINE_PRUNED);
      r = model.generateCompletions(inputs.inputIds(), inputs.attentionMask(), inputs.multimodal(), sampling,
          module.eosTokenIds(), module.padTokenId(), 0, 0, false, rowPrompt, opts, null);
    }
    prefillMs.add((hookNanos[0] - t0) / 1e6);
    stepMs.add(hookCalls > 1 ? (hookNanos[hookCalls - 1] - hookNanos[0]) / 1e6 / (hookCalls - 1) : Double.NaN);
    compactions = r.compactions();
    produced = 0;
    StringBuilder digest = new StringBuilder();
    for (int row = 0; row < r.ids().length; row++) {
      long n = Arrays.stream(r.mask()[row]).sum();
      if (n != lengths[row]) {
        throw new IllegalStateException("row " + row + " produced " + n + " tokens, its forced length is "
            + lengths[row]);
      }
      produced += n;
      digest.append(row > 0 ? "," : "").append(Integer.toHexString(Arrays.hashCode(r.ids()[row])));
    }
    idsDigest = digest.toString();
  }

  /** Mean over decode steps of weights + the live cache: each unfinished row's keys and values read once. */
  long floorBytesPerStep() {
    DecoderSizes d = new DecoderSizes(spec.spec);
    int steps = Arrays.stream(lengths).max().orElse(1) - 1;
    if (steps < 1) {
      return weightBytes;
    }
    double kv = 0;
    for (int t = 1; t <= steps; t++) { // the step that chooses position t caches prompt + t tokens
      int live = 0;
      for (int len : lengths) {
        live += len > t ? 1 : 0;
      }
      kv += (double) live * d.kvBytesPerToken() * (promptLength + t);
    }
    return weightBytes + Math.round(kv / steps);
  }

  /** Bytes of one token's keys and values over all layers (f32). */
  record DecoderSizes(int layers, int kvHeads, int headDim) {
    DecoderSizes(QwenTiny.Spec s) {
      this(s.numLayers(), s.numKvHeads(), s.hiddenSize() / s.numHeads());
    }

    long kvBytesPerToken() {
      return 2L * layers * kvHeads * headDim * 4;
    }
  }

  @Override
  public double workPerRun() {
    return produced > 0 ? produced : Arrays.stream(lengths).sum();
  }

  @Override
  public String unit() {
    return "tokens/s";
  }

  @Override
  public Map<String, String> extras() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("prefill_ms", fmt(median(prefillMs)));
    m.put("step_ms", fmt(median(stepMs)));
    m.put("floor_bytes_per_step", Long.toString(floorBytesPerStep()));
    m.put("weight_bytes", Long.toString(weightBytes));
    m.put("prompt_tokens", Long.toString(promptLength));
    m.put("steps", Integer.toString(hookCalls - 1));
    m.put("compactions", Integer.toString(compactions));
    m.put("ids", idsDigest);
    return m;
  }

  /** Median of the timed runs (the first {@code warmup} entries are the warm-up runs). */
  private double median(List<Double> all) {
    List<Double> timed = new ArrayList<>(all.subList(Math.min(warmup, all.size() - 1), all.size()));
    timed.sort(Comparator.naturalOrder());
    int n = timed.size();
    return n % 2 == 1 ? timed.get(n / 2) : (timed.get(n / 2 - 1) + timed.get(n / 2)) / 2;
  }

  private static String fmt(double x) {
    return String.format(Locale.ROOT, "%.4f", x);
  }

  @Override
  public void close() {
    model.close();
    TempFolders.delete(dir);
  }
}
