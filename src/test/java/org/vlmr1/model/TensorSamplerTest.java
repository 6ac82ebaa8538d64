// The tensor sampler picks exactly TokenSampler's id for the same logits and uniform: random rows of many shapes
// (ties, -inf, peaked, flat, bf16-rounded) under every temperature x top-k x top-p combination, plus uniforms placed
// exactly on cdf boundaries and top-p masses that land exactly on top_p.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

class TensorSamplerTest {
  /**
   * The top-p step and the inverse-CDF draw run through the kernel provider of the logits' device (so a CUDA run uses
   * our twins with their sequential sums), with their operands on that device, and pick the CPU's ids. On libtorch's
   * lazy device as the stand-in for a GPU; the old code computed top-p with composite ops wherever the logits were
   * (so no topPFilter call was recorded), and before that the draw too.
   */
  @Test
  void theTopPStepAndTheDrawAreTheDeviceProvidersOnThatDevice() {
    org.bytedeco.pytorch.Device lazy = LazyDevice.get();
    org.junit.jupiter.api.Assumptions.assumeTrue(lazy != null, "no lazy backend in this libtorch");
    long seed = System.nanoTime();
    System.out.println("TensorSamplerTest draw seed " + seed);
    Random rnd = new Random(seed);
    int b = 6;
    int v = 1000;
    float[][] rows = new float[b][];
    for (int r = 0; r < b; r++) {
      rows[r] = row(rnd, v, r % 6);
    }
    List<String> calls = new ArrayList<>();
    org.vlmr1.kernels.KernelProvider draws = new SamplerRecorder(calls);
    org.vlmr1.kernels.KernelProvider before = org.vlmr1.kernels.KernelProviders.register("lazy", draws);
    try (PointerScope s = new PointerScope()) {
      for (SamplingConfig cfg : List.of(new SamplingConfig(false, 1.0, 50, 1.0, seed, 1),
          new SamplingConfig(false, 0.7, 0, 0.9, seed, 1))) {
        Tensor logits = torch.tensor(flat(rows)).reshape(b, v);                               // (B, V)
        Tensor u = TensorSampler.uniforms(cfg, 3, 100, b, 7, logits);                          // (B)
        long[] cpu = ids(TensorSampler.next(logits, cfg, u));
        Tensor there = logits.to(lazy, ScalarType.Float);
        long[] got = ids(TensorSampler.next(there, cfg, TensorSampler.uniforms(cfg, 3, 100, b, 7, there)).cpu());
        assertEquals(java.util.Arrays.toString(cpu), java.util.Arrays.toString(got), cfg.toString());
      }
      assertEquals(List.of("sampleDraw lazy lazy", "topPFilter lazy", "sampleDraw lazy lazy"), calls);
    } finally {
      org.vlmr1.kernels.KernelProviders.register("lazy", before);
    }
  }

  /** Records where the sampler's operands lie and runs the composites on host copies; nothing else. */
  private record SamplerRecorder(List<String> calls) implements org.vlmr1.kernels.KernelProvider {
    @Override
    public String describe() {
      return "sampler recorder (test)";
    }

    @Override
    public Tensor sampleDraw(Tensor w, Tensor u) {
      calls.add("sampleDraw " + org.vlmr1.kernels.KernelProviders.deviceType(w) + " "
          + org.vlmr1.kernels.KernelProviders.deviceType(u));
      return org.vlmr1.kernels.CompositeKernels.sampleDraw(w.cpu(), u.cpu()).to(w.device(), ScalarType.Long);
    }

    @Override
    public Tensor topPFilter(Tensor w, double topP) {
      calls.add("topPFilter " + org.vlmr1.kernels.KernelProviders.deviceType(w));
      return org.vlmr1.kernels.CompositeKernels.topPFilter(w.cpu(), topP).to(w.device(), ScalarType.Double);
    }

    @Override
    public org.vlmr1.kernels.TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature,
        boolean withEntropy) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Tensor groupAdvantages(Tensor rewards, int groupSize, org.vlmr1.kernels.ScaleRewards scale) {
      throw new UnsupportedOperationException();
    }

    @Override
    public org.vlmr1.kernels.GrpoLossResult grpoLoss(Tensor logits, Tensor ids, Tensor mask, Tensor adv, Tensor old,
        Tensor ref, org.vlmr1.kernels.GrpoLossConfig cfg, Tensor gradOut) {
      throw new UnsupportedOperationException();
    }

    @Override
    public org.vlmr1.kernels.GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor lmHeadWeight, Tensor ids,
        Tensor mask, Tensor adv, Tensor old, Tensor ref, org.vlmr1.kernels.GrpoLossConfig cfg, int chunkRows) {
      throw new UnsupportedOperationException();
    }
  }

  private static final double[] TEMPERATURES = {0.7, 1.0, 1.3};
  private static final int[] TOP_KS = {0, 1, 50};
  private static final double[] TOP_PS = {1.0, 0.9, 0.5};

  @Test
  void sameIdAsTokenSamplerOnRandomRows() {
    long seed = System.nanoTime();
    System.out.println("TensorSamplerTest seed " + seed);
    Random rnd = new Random(seed);
    int[] vocabs = {7, 13, 64, 1000, 151936};
    int[] rowsPerVocab = {24, 24, 16, 12, 2};
    long checked = 0;
    for (int vi = 0; vi < vocabs.length; vi++) {
      int v = vocabs[vi];
      int b = rowsPerVocab[vi];
      float[][] rows = new float[b][];
      for (int r = 0; r < b; r++) {
        rows[r] = row(rnd, v, r % 6);
      }
      List<SamplingConfig> cfgs = new ArrayList<>();
      cfgs.add(SamplingConfig.greedy(1));
      for (double t : TEMPERATURES) {
        for (int k : TOP_KS) {
          for (double p : TOP_PS) {
            cfgs.add(new SamplingConfig(false, t, k, p, rnd.nextLong(), 1));
          }
        }
      }
      for (SamplingConfig cfg : cfgs) {
        long step = rnd.nextInt(1000);
        long first = rnd.nextInt(1 << 20);
        long position = rnd.nextInt(512);
        try (PointerScope s = new PointerScope()) {
          Tensor logits = torch.tensor(flat(rows)).reshape(b, v);                         // (B, V)
          Tensor u = TensorSampler.uniforms(cfg, step, first, b, position, logits);      // (B)
          long[] got = ids(TensorSampler.next(logits, cfg, u));
          for (int r = 0; r < b; r++) {
            int want = TokenSampler.next(rows[r], cfg, step, first + r, position);
            assertEquals(want, got[r], "V " + v + " row " + r + " kind " + r % 6 + " " + cfg + " seed " + seed);
            checked++;
          }
        }
      }
    }
    System.out.println("TensorSamplerTest rows checked " + checked);
  }

  @Test
  void nativeTopKPicksTheCompositesIds() {
    long seed = System.nanoTime();
    System.out.println("TensorSamplerTest native top-k seed " + seed);
    Random rnd = new Random(seed);
    for (int v : new int[] {64, 1000, 151936}) {
      int b = 12;
      float[][] rows = new float[b][];
      for (int r = 0; r < b; r++) {
        rows[r] = row(rnd, v, r % 6);
      }
      for (double p : TOP_PS) {
        SamplingConfig cfg = new SamplingConfig(false, 1.0, 50, p, rnd.nextLong(), 1);
        try (PointerScope s = new PointerScope()) {
          Tensor logits = torch.tensor(flat(rows)).reshape(b, v);                         // (B, V)
          Tensor u = TensorSampler.uniforms(cfg, 3, 0, b, 5, logits);                    // (B)
          long[] composite = ids(TensorSampler.next(logits, cfg, u, false));
          long[] fused = ids(TensorSampler.next(logits, cfg, u, true));
          for (int r = 0; r < b; r++) {
            assertEquals(composite[r], fused[r], "V " + v + " row " + r + " kind " + r % 6 + " " + cfg + " seed "
                + seed);
          }
        }
      }
    }
  }

  @Test
  void uniformsOnExactBoundariesAndTopPMassOnTheThreshold() {
    // Flat rows: w_i = 1, so the cdf is 1..V and u = j / V puts u * W exactly on a running sum (the pick must be
    // the id after it: "exceeds", not "reaches"); top-p masses are multiples of 1 / V and reach 0.5 exactly, and
    // the tie order decides which ids survive (larger first).
    for (int v : new int[] {4, 8, 16}) {
      float[] row = new float[v];
      for (SamplingConfig cfg : new SamplingConfig[] {
          new SamplingConfig(false, 1.0, 0, 1.0, 0, 1), new SamplingConfig(false, 1.0, 0, 0.5, 0, 1),
          new SamplingConfig(false, 0.7, 3, 0.5, 0, 1), new SamplingConfig(false, 1.3, 0, 0.25, 0, 1)}) {
        for (int j = 0; j < v; j++) {
          double uj = (double) j / v;
          try (PointerScope s = new PointerScope()) {
            Tensor logits = torch.tensor(row).reshape(1, v);                               // (1, V)
            long got = TensorSampler.next(logits, cfg, TensorSampler.doubles(new double[] {uj})).item_long();
            assertEquals(TokenSampler.next(row, cfg, uj), got, "V " + v + " u " + uj + " " + cfg);
          }
        }
      }
    }
  }

  @Test
  void bfloat16LogitsAreCastToFloatFirst() {
    long seed = System.nanoTime();
    System.out.println("TensorSamplerTest bf16 seed " + seed);
    Random rnd = new Random(seed);
    int b = 16;
    int v = 500;
    float[] x = new float[b * v];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (rnd.nextGaussian() * 4);
    }
    SamplingConfig cfg = new SamplingConfig(false, 0.7, 50, 0.9, rnd.nextLong(), 1);
    try (PointerScope s = new PointerScope()) {
      Tensor logits = torch.tensor(x).reshape(b, v).to(ScalarType.BFloat16);               // (B, V)
      float[][] rows = Generator.rows(logits);
      long[] got = ids(TensorSampler.next(logits, cfg, TensorSampler.uniforms(cfg, 3, 40, b, 7, logits)));
      long[] greedy = ids(TensorSampler.next(logits, SamplingConfig.greedy(1), null));
      for (int r = 0; r < b; r++) {
        assertEquals(TokenSampler.next(rows[r], cfg, 3, 40 + r, 7), got[r], "row " + r + " seed " + seed);
        assertEquals(TokenSampler.next(rows[r], SamplingConfig.greedy(1), 0, 0, 0), greedy[r], "greedy row " + r);
      }
    }
  }

  @Test
  void scaledLogitsAndWeightsAreBitIdentical() {
    long seed = System.nanoTime();
    System.out.println("TensorSamplerTest arithmetic seed " + seed);
    Random rnd = new Random(seed);
    int n = 1 << 20;
    float[] x = new float[n];
    double[] d = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian() * 3));
      d[i] = i < 16 ? new double[] {0, -0.0, -700, Math.nextDown(-700.0), -708, -745, Double.NEGATIVE_INFINITY,
          Double.NaN, -Math.log(2) / 2, -Math.log(2), -1e-300, -Double.MIN_VALUE, -1, -0.5, -1e-17, -699.99}[i]
          : -rnd.nextDouble() * (i % 2 == 0 ? 750 : 2);
    }
    try (PointerScope s = new PointerScope()) {
      for (double t : TEMPERATURES) {
        double[] got = new double[n];
        TensorSampler.scaled(torch.tensor(x), t).contiguous().data_ptr_double().get(got);
        for (int i = 0; i < n; i++) {
          assertEquals(Double.doubleToLongBits(x[i] / t), Double.doubleToLongBits(got[i]), "x " + x[i] + " / " + t);
        }
      }
      double[] got = new double[n];
      TensorSampler.exp(TensorSampler.doubles(d)).contiguous().data_ptr_double().get(got);
      double[] lib = new double[n];
      TensorSampler.doubles(d).exp().contiguous().data_ptr_double().get(lib);
      int libDiffers = 0;
      double worst = 0;
      for (int i = 0; i < n; i++) {
        double want = TokenSampler.exp(d[i]);
        assertEquals(Double.doubleToLongBits(want), Double.doubleToLongBits(got[i]), "exp(" + d[i] + ")");
        libDiffers += Double.doubleToLongBits(lib[i]) != Double.doubleToLongBits(Math.exp(d[i])) ? 1 : 0;
        if (d[i] >= TokenSampler.EXP_FLOOR) {
          worst = Math.max(worst, Math.abs(want - Math.exp(d[i])) / Math.ulp(Math.exp(d[i])));
        }
      }
      System.out.println("TensorSamplerTest exp: within " + worst + " ulp of Math.exp; libtorch's exp and Math.exp "
          + "differ on " + libDiffers + " of " + n);
      assertTrue(worst <= 4, "exp accuracy " + worst + " ulp");
      assertEquals(1.0, TokenSampler.exp(0), "the most likely token weighs exactly 1");
      // The running sums: libtorch's CPU cumsum accumulates each row left to right in double, as the reference does.
      int v = 151936;
      double[] w = new double[4 * v];
      for (int i = 0; i < w.length; i++) {
        w[i] = rnd.nextInt(8) == 0 ? 0 : TokenSampler.exp(-rnd.nextDouble() * 30);
      }
      double[] cdf = new double[w.length];
      TensorSampler.doubles(w).reshape(4, v).cumsum(1).contiguous().data_ptr_double().get(cdf);
      for (int r = 0; r < 4; r++) {
        double acc = 0;
        for (int i = 0; i < v; i++) {
          acc += w[r * v + i];
          assertEquals(Double.doubleToLongBits(acc), Double.doubleToLongBits(cdf[r * v + i]), "cdf " + r + ", " + i);
        }
      }
      assertEquals(0.0, TokenSampler.exp(Double.NEGATIVE_INFINITY));
    }
  }

  /** kinds: 0 gaussian, 1 ties (few levels), 2 with -inf, 3 peaked, 4 flat with tiny noise, 5 bf16-rounded wide. */
  private static float[] row(Random rnd, int v, int kind) {
    float[] x = new float[v];
    for (int i = 0; i < v; i++) {
      double g = rnd.nextGaussian();
      x[i] = switch (kind) {
        case 0 -> (float) (g * 2);
        case 1 -> (float) Math.rint(g * 2) / 2f;
        case 2 -> rnd.nextInt(4) == 0 ? Float.NEGATIVE_INFINITY : (float) (g * 3);
        case 3 -> (float) g;
        case 4 -> (float) (1e-6 * g);
        default -> Float.intBitsToFloat(Float.floatToIntBits((float) (g * 8)) & 0xffff0000);
      };
    }
    if (kind == 3) {
      x[rnd.nextInt(v)] = 40f;
    }
    if (kind == 2) {
      x[rnd.nextInt(v)] = 1f; // at least one finite logit
    }
    return x;
  }

  private static float[] flat(float[][] rows) {
    float[] f = new float[rows.length * rows[0].length];
    for (int r = 0; r < rows.length; r++) {
      System.arraycopy(rows[r], 0, f, r * rows[r].length, rows[r].length);
    }
    return f;
  }

  private static long[] ids(Tensor t) {
    long[] out = new long[(int) t.numel()];
    t.to(ScalarType.Long).contiguous().data_ptr_long().get(out);
    return out;
  }
}
