// Writes the goldens of the CUDA check (src/test/cuda/goldens/*.safetensors): small inputs with the outputs of the
// libtorch composites (CompositeKernels), TensorSampler and the Java image references, which the GPU harness
// (src/test/cuda/check.py) compares our CUDA twins and its PyTorch oracle against. Inputs come from fixed seeds, so
// CudaGoldensTest can regenerate them and hold the committed files to them.
// Regenerate after a composite changes: mvn -B -o test -Dtest=CudaGoldensTest -Dvlmr1.cudaGoldens.write=true
package org.vlmr1.kernels;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.SafeTensorsWriter;
import org.vlmr1.model.SamplerAccess;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.model.TensorSampler;
import org.vlmr1.module.internvl.InternVlReferenceAccess;
import org.vlmr1.module.qwen.QwenReferenceAccess;

/**
 * The golden files, one per kernel family. Each holds tensors named {@code <case>.<tensor>}; the metadata lists the
 * cases ({@code "cases"}: comma-separated) and gives each case's parameters as a JSON object under its name.
 */
public final class CudaGoldens {
  /** Where the committed goldens live, relative to the repository root. */
  public static final Path DIR = Path.of("src/test/cuda/goldens");

  /** The file names, in the order they are written. */
  public static final List<String> FILES = List.of("token_logprobs.safetensors", "grpo_loss.safetensors",
      "group_advantages.safetensors", "images.safetensors", "sample_draw.safetensors", "top_p_filter.safetensors");

  private static final long SEED = 17;
  private static final ObjectMapper JSON = new ObjectMapper();

  private CudaGoldens() {}

  /** Writes the goldens into {@code args[0]} (default {@link #DIR}). */
  public static void main(String[] args) throws IOException {
    TorchRuntime.load();
    Path dir = args.length > 0 ? Path.of(args[0]) : DIR;
    for (Path p : write(dir)) {
      System.out.println(p + ": " + Files.size(p) + " bytes");
    }
  }

  /** Writes every golden file into {@code dir} (created if needed) and returns their paths. */
  public static List<Path> write(Path dir) throws IOException {
    Files.createDirectories(dir);
    List<Path> out = new ArrayList<>();
    try (PointerScope s = new PointerScope()) {
      out.add(save(dir.resolve(FILES.get(0)), tokenLogProbs()));
      out.add(save(dir.resolve(FILES.get(1)), grpoLoss()));
      out.add(save(dir.resolve(FILES.get(2)), groupAdvantages()));
      out.add(save(dir.resolve(FILES.get(3)), images()));
      out.add(save(dir.resolve(FILES.get(4)), sampleDraw()));
      out.add(save(dir.resolve(FILES.get(5)), topPFilter()));
    }
    return out;
  }

  /** Tensors and per-case metadata of one file. */
  private static final class Golden {
    final Map<String, Tensor> tensors = new LinkedHashMap<>();
    final Map<String, String> meta = new LinkedHashMap<>();
    final List<String> cases = new ArrayList<>();

    void add(String name, Map<String, Object> params, Map<String, Tensor> tensors) {
      cases.add(name);
      try {
        meta.put(name, JSON.writeValueAsString(params));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      tensors.forEach((k, t) -> this.tensors.put(name + "." + k, t.detach().contiguous()));
    }
  }

  private static Path save(Path path, Golden g) throws IOException {
    Map<String, String> meta = new LinkedHashMap<>(g.meta);
    meta.put("format", "pt");
    meta.put("cases", String.join(",", g.cases));
    SafeTensorsWriter.write(path, g.tensors, meta);
    return path;
  }

  private static ScalarType dtypeOf(String name) {
    return name.equals("bf16") ? ScalarType.BFloat16 : ScalarType.Float;
  }

  /**
   * (n, v) logits of N(0, scale^2) with the CPU tests' edge cases when n >= 3 and v > 1: row 0 has one finite logit
   * (its target's), row 1's target is -inf, row 2 holds +-1e4 (so its log-probs are about -2e4), and 1% of the other
   * entries are -inf.
   */
  private static Tensor edgeLogits(long n, long v, double scale, String dtype, Tensor ids) {
    Tensor x = torch.randn(n, v).mul(new Scalar(scale));                       // (n, V)
    if (n >= 3 && v > 1) {
      Scalar inf = new Scalar(Double.NEGATIVE_INFINITY);
      x.masked_fill_(torch.rand(n, v).lt(new Scalar(0.01)), inf);
      x.get(0).fill_(inf);
      x.get(0).get(ids.get(0).item_long()).fill_(new Scalar(1));
      x.get(1).get(ids.get(1).item_long()).fill_(inf);
      Tensor sign = torch.rand(v).lt(new Scalar(0.5)).to(ScalarType.Float).mul(new Scalar(2)).sub(new Scalar(1));
      x.get(2).copy_(sign.mul(new Scalar(1e4)).add(torch.randn(v)));
    }
    return x.to(dtypeOf(dtype)).contiguous();
  }

  private static Tensor ids(long vocab, long... shape) {
    return torch.randint(vocab, shape, new TensorOptions(ScalarType.Long));
  }

  // ------------------------------------------------------------------------------------------------ token log-probs

  private static Golden tokenLogProbs() {
    torch.manual_seed(SEED);
    Golden g = new Golden();
    Object[][] cases = {{"f32_v1000_edges", "f32", 16L, 1000L, 1.0}, {"f32_v1003_t07", "f32", 9L, 1003L, 0.7},
        {"bf16_v1003_t13", "bf16", 12L, 1003L, 1.3}, {"bf16_v4096", "bf16", 8L, 4096L, 1.0},
        {"f32_v7", "f32", 5L, 7L, 1.0}, {"bf16_v9_t09", "bf16", 4L, 9L, 0.9}, {"f32_v1", "f32", 3L, 1L, 1.0},
        {"f32_v20011_t11", "f32", 3L, 20011L, 1.1}, {"bf16_v20011", "bf16", 3L, 20011L, 1.0}};
    for (Object[] c : cases) {
      String dtype = (String) c[1];
      long n = (Long) c[2];
      long v = (Long) c[3];
      double temperature = (Double) c[4];
      Tensor targets = ids(v, n);                                               // (N)
      Tensor logits = edgeLogits(n, v, 3, dtype, targets);                      // (N, V)
      TokenLogProbs r = CompositeKernels.tokenLogProbs(logits, targets, temperature, true);
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("dtype", dtype);
      p.put("temperature", temperature);
      g.add((String) c[0], p, Map.of("logits", logits, "targets", targets, "logp", r.logProbs(),
          "entropy", r.entropy()));
    }
    return g;
  }

  // ------------------------------------------------------------------------------------------------ GRPO loss

  /**
   * Every loss type with and without old and reference log-probs, per dtype, on one (3, 5, 389) batch per dtype and
   * temperature: sequence 2 fully masked, a masked token whose target is -inf, a token of +-1e4 logits, scattered
   * -inf logits, and old log-probs that put ratios on both sides of the clip range.
   */
  private static Golden grpoLoss() {
    torch.manual_seed(SEED + 1);
    Golden g = new Golden();
    long b = 3;
    long t = 5;
    long v = 389;
    for (String dtype : new String[] {"f32", "bf16"}) {
      for (boolean withOld : new boolean[] {false, true}) {
        double temperature = withOld ? 0.8 : 1.0;
        Tensor ids = ids(v, b, t);                                              // (B, T)
        Tensor flatIds = ids.reshape(b * t);
        Tensor x = edgeLogits(b * t, v, 2, dtype, flatIds).to(ScalarType.Float); // (B*T, V)
        // Token (0, 0) keeps one finite logit (log-prob 0); (0, 1) had a -inf target, but it is unmasked.
        x.get(1).copy_(torch.randn(v).mul(new Scalar(2)));
        x.get(4).copy_(x.get(2));                                                // (0, 4): +-1e4, unmasked
        x.get(9).copy_(x.get(2));                                                // (1, 4): +-1e4, masked
        x.get(2).copy_(torch.randn(v).mul(new Scalar(2)));
        x.get(2).get(flatIds.get(2).item_long()).add_(new Scalar(3));
        x.get(3).copy_(torch.randn(v).add(new Scalar(1e4)));                     // (0, 3): all logits near +1e4
        for (long r = 1; r < 8; r++) { // unmasked tokens need a finite log-prob (the 1% of -inf may hit a target)
          Tensor at = x.get(r).get(flatIds.get(r).item_long());
          if (!torch.isfinite(at).item_bool()) {
            at.fill_(new Scalar(0.5));
          }
        }
        x.get(8).get(flatIds.get(8).item_long()).fill_(new Scalar(Double.NEGATIVE_INFINITY)); // (1, 3) masked -inf
        Tensor logits = x.to(dtypeOf(dtype)).reshape(b, t, v).contiguous();    // (B, T, V)
        Tensor mask = torch.tensor(new float[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}).reshape(b, t);
        Tensor adv = torch.tensor(new float[] {1.5f, -0.7f, 0.3f});              // (B)
        Tensor lp = CompositeKernels.tokenLogProbs(logits.reshape(b * t, v), flatIds, temperature, false)
            .logProbs().reshape(b, t);                                           // (B, T)
        Tensor old = lp.add(torch.rand(b, t).sub(new Scalar(0.5)));              // ratios in [e^-0.5, e^0.5]
        old.get(0).get(0).fill_(lp.get(0).get(0).sub(new Scalar(1)));            // ratio e, A > 0: high clip
        old.get(1).get(0).fill_(lp.get(1).get(0).add(new Scalar(1)));            // ratio 1/e, A < 0: low clip
        Tensor ref = lp.add(torch.randn(b, t).mul(new Scalar(0.3)));
        for (LossType lt : LossType.values()) {
          for (double beta : new double[] {0, 0.04}) {
            GrpoLossConfig cfg = GrpoLossConfig.builder().epsilonLow(0.2).epsilonHigh(0.28).beta(beta)
                .temperature(temperature).lossType(lt).maxCompletionLength(8)
                .dapoTokenCount(withOld && lt == LossType.DAPO ? 20 : 0).lossScale(withOld ? 0.5 : 1).build();
            Tensor o = withOld ? old : null;
            Tensor r = beta > 0 ? ref : null;
            GrpoLossResult res = CompositeKernels.grpoLoss(logits, ids, mask, adv, o, r, cfg, null);
            GrpoLossMetrics m = res.metrics();
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("dtype", dtype);
            p.put("batch", b);
            p.put("seq_len", t);
            p.put("vocab", v);
            p.put("loss_type", lt.ordinal());
            p.put("loss_type_name", lt.name());
            p.put("epsilon_low", cfg.epsilonLow());
            p.put("epsilon_high", cfg.epsilonHigh());
            p.put("beta", beta);
            p.put("temperature", temperature);
            p.put("max_completion_length", cfg.maxCompletionLength());
            p.put("dapo_token_count", cfg.dapoTokenCount());
            p.put("loss_scale", cfg.lossScale());
            p.put("old", withOld);
            p.put("ref", beta > 0);
            String inputs = dtype + (withOld ? "_old" : "_new");
            p.put("inputs", inputs);
            Map<String, Tensor> out = new LinkedHashMap<>();
            out.put("loss_metrics", doubles(res.loss(), m.kl(), m.entropy(), m.clipRatioLow(), m.clipRatioHigh(),
                m.clipRatioRegion()));
            out.put("logp", res.perTokenLogps());
            out.put("grad", res.gradLogits());
            g.add(dtype + "_" + lt.name().toLowerCase() + (withOld ? "_old" : "") + (beta > 0 ? "_ref" : ""), p,
                out);
          }
        }
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("logits", logits);
        in.put("ids", ids);
        in.put("mask", mask);
        in.put("adv", adv);
        in.put("old", old);
        in.put("ref", ref);
        g.add("inputs_" + dtype + (withOld ? "_old" : "_new"), Map.of("temperature", temperature), in);
      }
    }
    return g;
  }

  /** A (n) float64 CPU tensor holding {@code x}. */
  private static Tensor doubles(double... x) {
    Tensor t = torch.empty(new long[] {x.length}, new TensorOptions(ScalarType.Double), null);
    t.data_ptr_double().put(x);
    return t;
  }

  // ------------------------------------------------------------------------------------------------ advantages

  private static Golden groupAdvantages() {
    Golden g = new Golden();
    Random rnd = new Random(SEED + 2);
    float[] r12 = new float[12];
    for (int i = 0; i < 12; i++) {
      r12[i] = i >= 4 && i < 8 ? 0.5f : (float) Math.round(rnd.nextDouble() * 4) / 4f; // group 1 constant: std 0
    }
    float[] r5 = {0.3f, 1f, 0f, 0.25f, 2f};
    Object[][] cases = {{"group_g4", r12, 4, ScaleRewards.GROUP}, {"batch_g4", r12, 4, ScaleRewards.BATCH},
        {"none_g4", r12, 4, ScaleRewards.NONE}, {"group_g12", r12, 12, ScaleRewards.GROUP},
        {"group_g1", r5, 1, ScaleRewards.GROUP}, {"batch_g1", r5, 1, ScaleRewards.BATCH}};
    for (Object[] c : cases) {
      Tensor rewards = torch.tensor((float[]) c[1]);                            // (n)
      int groupSize = (Integer) c[2];
      ScaleRewards scale = (ScaleRewards) c[3];
      Tensor adv = CompositeKernels.groupAdvantages(rewards, groupSize, scale);
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("group_size", groupSize);
      p.put("scale", scale.ordinal());
      p.put("scale_name", scale.name());
      g.add((String) c[0], p, Map.of("rewards", rewards, "advantages", adv));
    }
    return g;
  }

  // ------------------------------------------------------------------------------------------------ images

  private static Golden images() {
    Golden g = new Golden();
    Random rnd = new Random(SEED + 3);
    int[][] qwen = {{84, 56}, {28, 28}};
    for (int[] wh : qwen) {
      RgbImage img = randomImage(rnd, wh[0], wh[1]);
      float[] patches = QwenReferenceAccess.patches(img);
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("kind", "qwen");
      p.put("h", wh[1]);
      p.put("w", wh[0]);
      g.add("qwen_" + wh[0] + "x" + wh[1], p, Map.of("rgb", pixels(img), "mean",
          torch.tensor(QwenReferenceAccess.mean()), "std", torch.tensor(QwenReferenceAccess.std()), "out",
          torch.tensor(patches).reshape((long) (wh[1] / 14) * (wh[0] / 14), 1176)));
    }
    int[][] tiles = {{2, 1, 32}, {1, 3, 20}};
    for (int[] crs : tiles) {
      int cols = crs[0];
      int rows = crs[1];
      int size = crs[2];
      RgbImage img = randomImage(rnd, cols * size, rows * size);
      float[] out = InternVlReferenceAccess.tiles(img, cols, rows, size);
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("kind", "internvl");
      p.put("cols", cols);
      p.put("rows", rows);
      p.put("size", size);
      g.add("internvl_" + cols + "x" + rows + "_s" + size, p, Map.of("rgb", pixels(img), "mean",
          torch.tensor(InternVlReferenceAccess.mean()), "std", torch.tensor(InternVlReferenceAccess.std()), "out",
          torch.tensor(out).reshape((long) rows * cols, 3, size, size)));
    }
    return g;
  }

  private static RgbImage randomImage(Random rnd, int w, int h) {
    byte[] px = new byte[w * h * 3];
    rnd.nextBytes(px);
    px[0] = 0;
    px[1] = (byte) 255; // both ends of the range
    return new RgbImage(w, h, px);
  }

  /** (h, w, 3) uint8. */
  private static Tensor pixels(RgbImage img) {
    Tensor t = torch.empty(new long[] {img.height(), img.width(), 3}, new TensorOptions(ScalarType.Byte), null);
    t.data_ptr_byte().put(img.hwc());
    return t;
  }

  // ------------------------------------------------------------------------------------------------ sampler draw

  /**
   * The inverse-CDF step of TensorSampler.next without top-k / top-p: its weights, uniforms and chosen positions
   * (taken from next() itself), plus hand-made weight rows (all zero, one positive weight, trailing zeros) whose
   * positions come from the same draw (CompositeKernels.sampleDraw), checked here to agree with next() on the sampled
   * rows.
   */
  private static Golden sampleDraw() {
    torch.manual_seed(SEED + 4);
    Golden g = new Golden();
    long rows = 8;
    long k = 61;
    double temperature = 0.9;
    Tensor logits = torch.randn(rows, k).mul(new Scalar(2));                    // (rows, K)
    logits.get(3).masked_fill_(torch.rand(k).lt(new Scalar(0.3)), new Scalar(Double.NEGATIVE_INFINITY));
    logits.get(4).narrow(0, 40, k - 40).fill_(new Scalar(Double.NEGATIVE_INFINITY)); // trailing zero weights
    Random rnd = new Random(SEED + 4);
    double[] u = new double[(int) rows];
    for (int i = 0; i < u.length; i++) {
      u[i] = rnd.nextDouble();
    }
    u[0] = 0.0;
    u[1] = Math.nextDown(1.0);
    u[4] = Math.nextDown(1.0);
    Tensor ut = doubles(u);                                                      // (rows)
    Tensor w = SamplerAccess.weights(logits, temperature);                       // (rows, K) double
    Tensor pos = TensorSampler.next(logits, new SamplingConfig(false, temperature, 0, 1.0, 0, 1), ut);
    Tensor replica = CompositeKernels.sampleDraw(w, ut);
    if (!torch.equal(pos, replica)) {
      throw new IllegalStateException("the draw replica disagrees with TensorSampler.next");
    }
    g.add("sampled", Map.of("temperature", temperature), Map.of("w", w, "u", ut, "pos", pos));
    Tensor hand = torch.zeros(new long[] {4, 7}, new TensorOptions(ScalarType.Double));
    hand.get(1).get(3).fill_(new Scalar(0.25));                                  // one positive weight
    hand.get(2).narrow(0, 0, 3).fill_(new Scalar(1.0));                          // trailing zeros
    hand.get(3).fill_(new Scalar(1e-300));                                       // tiny but positive
    Tensor hu = doubles(0.5, 0.999, Math.nextDown(1.0), 0.3);
    g.add("hand", Map.of(), Map.of("w", hand, "u", hu, "pos", CompositeKernels.sampleDraw(hand, hu)));
    return g;
  }

  // ------------------------------------------------------------------------------------------------ sampler top-p

  /**
   * The top-p step of TensorSampler.next (CompositeKernels.topPFilter) on its weights: sampled rows (ties from
   * logits rounded to halves, -inf entries, a peaked row) at two top_p values, each checked here to give next()'s ids
   * through the draw, plus hand-made rows: equal weights (ties keep the larger ids first), a mass landing exactly
   * on top_p (the entry it reaches is dropped), an all-zero row (its total is 0, so only the first sorted entry,
   * the last id, keeps its weight of 0) and one weight dominating the rest.
   */
  private static Golden topPFilter() {
    torch.manual_seed(SEED + 5);
    Golden g = new Golden();
    long rows = 8;
    long k = 67;
    double temperature = 0.8;
    Tensor logits = torch.randn(rows, k).mul(new Scalar(2));                    // (rows, K)
    logits.narrow(0, 0, 3).copy_(logits.narrow(0, 0, 3).mul(new Scalar(2)).round().div(new Scalar(2))); // ties
    logits.get(3).masked_fill_(torch.rand(k).lt(new Scalar(0.4)), new Scalar(Double.NEGATIVE_INFINITY));
    logits.get(4).get(11).fill_(new Scalar(12.0));                              // peaked: one id holds the mass
    Random rnd = new Random(SEED + 5);
    double[] u = new double[(int) rows];
    for (int i = 0; i < u.length; i++) {
      u[i] = rnd.nextDouble();
    }
    Tensor ut = doubles(u);                                                      // (rows)
    Tensor w = SamplerAccess.weights(logits, temperature);                       // (rows, K) double
    for (double topP : new double[] {0.9, 0.5}) {
      Tensor out = CompositeKernels.topPFilter(w, topP);
      Tensor pos = TensorSampler.next(logits, new SamplingConfig(false, temperature, 0, topP, 0, 1), ut);
      if (!torch.equal(pos, CompositeKernels.sampleDraw(out, ut))) {
        throw new IllegalStateException("top-p " + topP + " then the draw disagrees with TensorSampler.next");
      }
      g.add("sampled_p" + topP, Map.of("top_p", topP), Map.of("w", w, "out", out));
    }
    Tensor hand = torch.zeros(new long[] {4, 6}, new TensorOptions(ScalarType.Double));
    hand.get(0).fill_(new Scalar(1.0));                                          // ties: larger ids kept first
    hand.get(1).narrow(0, 0, 3).copy_(doubles(0.25, 0.25, 0.5));                 // 0.5 lands exactly on top_p
    hand.get(3).copy_(doubles(1e-3, 0.99, 1e-3, 2e-3, 3e-3, 3e-3));              // one dominates
    for (double topP : new double[] {0.5, 0.75}) {
      g.add("hand_p" + topP, Map.of("top_p", topP), Map.of("w", hand, "out", CompositeKernels.topPFilter(hand, topP)));
    }
    return g;
  }
}
