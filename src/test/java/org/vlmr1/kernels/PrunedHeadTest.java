// The pruned LM head (lm_head.cpp, PrunedHead) against every logit: its candidates hold every id of each row's exact
// top k (ties with the k-th included) with the exact logits' own bits, its approximation stays within the bound it
// assumes, and the tensor sampler picks the same id from the candidates as from all the logits. Random heads (seed
// printed) with near-tie blocks: rows that differ from one another by less than the bound, so the candidates must
// come from the bound and not from luck.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.model.TensorSampler;

class PrunedHeadTest {
  @BeforeAll
  static void natives() {
    TorchRuntime.load();
    assumeTrue(GrpoKernels.backend() == KernelBackend.NATIVE, "native kernels not loaded");
  }

  /** The layouts this machine runs: bf16 rows always, AMX where the CPU and kernel allow it (printed). */
  private static int[] layouts() {
    boolean amx = PrunedHead.amxAvailable();
    System.out.println("PrunedHeadTest layouts: rows" + (amx ? " and AMX" : " (no AMX here)"));
    return amx ? new int[] {PrunedHead.ROWS, PrunedHead.AMX} : new int[] {PrunedHead.ROWS};
  }

  /**
   * (V, H) weights N(0, 1) / sqrt(H), with blocks of rows that are copies of one row plus noise far below the bound
   * (their logits tie within it), and a block of exact duplicates (exact ties).
   */
  private static Tensor head(Random rnd, int v, int h) {
    torch.manual_seed(rnd.nextLong());
    Tensor w = torch.randn(v, h).div(new Scalar(Math.sqrt(h)));                               // (V, H)
    for (int blk = 0; blk < 6; blk++) {
      int base = rnd.nextInt(v - 64);
      Tensor row = w.get(base);
      for (int j = 1; j < 40; j++) {
        w.get(base + j).copy_(row.add(torch.randn(h).mul(new Scalar(1e-4 / Math.sqrt(h)))));
      }
    }
    int dup = rnd.nextInt(v - 16);
    for (int j = 1; j < 12; j++) {
      w.get(dup + j).copy_(w.get(dup));
    }
    return w.contiguous();
  }

  /** Hidden rows aimed at the near-tie blocks' rows (so the ties sit at the top), plus random ones. */
  private static Tensor hidden(Random rnd, Tensor w, int b) {
    Tensor x = torch.randn(b, w.size(1)).mul(new Scalar(3));                                  // (B, H)
    for (int r = 0; r < b; r += 2) {
      x.get(r).add_(w.get(rnd.nextInt((int) w.size(0))).mul(new Scalar(40)));
    }
    return x.contiguous();
  }

  @Test
  void candidatesHoldTheExactTopKWithTheExactBits() {
    long seed = new Random().nextLong();
    System.out.println("PrunedHeadTest candidates seed " + seed);
    Random rnd = new Random(seed);
    for (int layout : layouts()) {
      for (int h : new int[] {64, 71}) { // 71: a scalar tail after the vector lanes, padding in the AMX tiles
        try (PointerScope s = new PointerScope()) {
          Tensor w = head(rnd, 3001, h); // 3001: a partial last block of 16 rows
          Tensor x = hidden(rnd, w, 19); // 19: two groups of hidden rows on AMX
          Tensor full = LmHeadKernels.logits(x, w);                                          // (B, V) exact
          try (PrunedHead p = PrunedHead.of(w, layout)) {
            Tensor approx = p.approx(x);
            for (int k : new int[] {1, 5, 50}) {
              PrunedHead.Candidates c = p.candidates(x, approx, k, null);
              String what = p.describe() + " h " + h + " k " + k;
              assertNotNull(c, what);
              checkCandidates(full, c, k, what);
            }
          }
        }
      }
    }
  }

  /** Every id at or above the row's exact k-th largest is a candidate, with full's bits; ids ascend. */
  private static void checkCandidates(Tensor full, PrunedHead.Candidates c, int k, String what) {
    long b = full.size(0);
    long v = full.size(1);
    float[] all = new float[(int) (b * v)];
    full.contiguous().data_ptr_float().get(all);
    long cw = c.ids().size(1);
    long[] ids = new long[(int) (b * cw)];
    float[] lg = new float[(int) (b * cw)];
    c.ids().data_ptr_long().get(ids);
    c.logits().data_ptr_float().get(lg);
    for (int r = 0; r < b; r++) {
      float[] row = java.util.Arrays.copyOfRange(all, (int) (r * v), (int) ((r + 1) * v));
      float[] sorted = row.clone();
      java.util.Arrays.sort(sorted);
      float kth = sorted[(int) v - k];
      java.util.Set<Long> got = new java.util.HashSet<>();
      long prev = -1;
      for (int j = 0; j < cw; j++) {
        float l = lg[(int) (r * cw + j)];
        if (l == Float.NEGATIVE_INFINITY) {
          continue; // padding
        }
        long id = ids[(int) (r * cw + j)];
        assertTrue(id > prev, what + " row " + r + ": ids not ascending at " + j);
        prev = id;
        assertEquals(Float.floatToRawIntBits(row[(int) id]), Float.floatToRawIntBits(l),
            what + " row " + r + " id " + id + ": candidate logit " + l + " vs exact " + row[(int) id]);
        got.add(id);
      }
      int needed = 0;
      for (int id = 0; id < v; id++) {
        if (row[id] >= kth) {
          needed++;
          assertTrue(got.contains((long) id), what + " row " + r + ": top-k id " + id + " (logit " + row[id]
              + ", k-th " + kth + ") is not a candidate");
        }
      }
      assertTrue(got.size() >= needed, what);
    }
  }

  @Test
  void theApproximationStaysWithinItsBound() {
    long seed = new Random().nextLong();
    System.out.println("PrunedHeadTest bound seed " + seed);
    Random rnd = new Random(seed);
    for (int layout : layouts()) {
      try (PointerScope s = new PointerScope()) {
        Tensor[] heads = {head(rnd, 2003, 96), torch.randn(2003, 96).mul(new Scalar(1e3)).contiguous()};
        for (Tensor wt : heads) {
          try (PrunedHead ph = PrunedHead.of(wt, layout)) {
            Tensor x = torch.randn(5, 96).mul(new Scalar(rnd.nextDouble() * 100));           // (B, H)
            Tensor approx = ph.approx(x);                                                     // (B, V)
            Tensor err = approx.sub(LmHeadKernels.logits(x, wt)).abs().to(ScalarType.Double);   // (B, V)
            // the bound, from its derivation (lm_head.cpp), computed here with libtorch in double
            boolean amx = layout == PrunedHead.AMX;
            Tensor wd = wt.to(ScalarType.Double);                                              // (V, H)
            Tensor wq = wt.to(ScalarType.BFloat16).to(ScalarType.Double);                      // (V, H) w'
            Tensor xd = x.to(ScalarType.Double);                                               // (B, H)
            Tensor xq = amx ? x.to(ScalarType.BFloat16).to(ScalarType.Double) : xd;           // (B, H) x'
            double n = 96; // H, a whole number of AMX's 32-element steps (no padding)
            double gamma = n * Math.pow(2, -24) / (1 - n * Math.pow(2, -24));
            Tensor nw = rowNorm(wd, false);                                                    // (V)
            Tensor nr = rowNorm(wd.sub(wq), false);                                            // (V)
            Tensor nx = rowNorm(xd, true);                                                     // (B, 1)
            Tensor nq = rowNorm(xq, true);                                                     // (B, 1)
            Tensor nrx = rowNorm(xd.sub(xq), true);                                            // (B, 1)
            Tensor bound = nq.mul(new Scalar(1 + gamma)).mul(nr.unsqueeze(0))
                .add(nrx.add(nq.add(nx).mul(new Scalar(gamma))).mul(nw.unsqueeze(0)));         // (B, V)
            double worst = err.div(bound).max().item_double();
            System.out.println("PrunedHeadTest " + ph.describe() + " worst error / bound " + worst);
            assertTrue(worst <= 1.0, ph.describe() + ": approximation error exceeds the bound: " + worst + " of it");
            assertTrue(worst > 1e-2, ph.describe() + ": the bound is implausibly loose or the approximation is not "
                + "bf16: " + worst);
            // the kernel's oracle: torch.linear on the bf16-rounded weights (and hidden rows, on AMX), within float32
            // dot-product rounding of both (gamma ||w'|| ||x'|| each)
            Tensor composite = torch.linear(xq.to(ScalarType.Float), wq.to(ScalarType.Float));      // (B, V)
            Tensor slack = nq.mul(rowNorm(wq, false).unsqueeze(0)).mul(new Scalar(2 * gamma));      // (B, V)
            double off = approx.sub(composite).abs().to(ScalarType.Double).div(slack).max().item_double();
            assertTrue(off <= 1.0, ph.describe() + ": approx is not the bf16 product: " + off
                + " of float32 rounding away from torch.linear");
          }
        }
      }
    }
  }

  @Test
  void theSamplerPicksTheSameIdFromTheCandidates() {
    long seed = new Random().nextLong();
    System.out.println("PrunedHeadTest sampler seed " + seed);
    Random rnd = new Random(seed);
    for (int layout : layouts()) {
      try (PointerScope s = new PointerScope()) {
        sameIds(rnd, seed, layout);
      }
    }
  }

  private static void sameIds(Random rnd, long seed, int layout) {
    Tensor w = head(rnd, 4099, 64);
    Tensor x = hidden(rnd, w, 9).div(new Scalar(8));                                        // flatter rows
    Tensor full = LmHeadKernels.logits(x, w);
    try (PrunedHead p = PrunedHead.of(w, layout)) {
      Tensor approx = p.approx(x);
      for (SamplingConfig cfg : new SamplingConfig[] {
          new SamplingConfig(true, 1.0, 0, 1.0, seed, 1),
          new SamplingConfig(false, 1.0, 50, 1.0, seed, 1),
          new SamplingConfig(false, 0.7, 20, 0.9, seed, 1),
          new SamplingConfig(false, 1.3, 3, 1.0, seed, 1)}) {
        PrunedHead.Candidates c = p.candidates(x, approx, cfg.greedy() ? 1 : cfg.topK(), null);
        assertNotNull(c);
        for (int step = 0; step < 40; step++) {
          Tensor u = cfg.greedy() ? null : TensorSampler.uniforms(cfg, step, 0, 9, 3, x);
          long[] want = longs(TensorSampler.next(full, cfg, u));
          long[] got = longs(TensorSampler.nextAmong(c.logits(), c.ids(), cfg, u));
          assertEquals(java.util.Arrays.toString(want), java.util.Arrays.toString(got), cfg + " step " + step);
        }
      }
    }
  }

  /** Columns a logit bias overwrote are taken as exact: the forced id alone when it dominates, its value kept. */
  @Test
  void overwrittenColumnsAreExactAndNonFiniteRowsFallBack() {
    for (int layout : layouts()) {
      overwritten(layout);
    }
  }

  private static void overwritten(int layout) {
    Random rnd = new Random(7);
    try (PointerScope s = new PointerScope()) {
      Tensor w = head(rnd, 1500, 64);
      Tensor x = hidden(rnd, w, 4);
      try (PrunedHead p = PrunedHead.of(w, layout)) {
        Tensor approx = p.approx(x);
        approx.select(1, 123).fill_(new Scalar(1e4));
        PrunedHead.Candidates c = p.candidates(x, approx, 1, new long[] {123});
        assertNotNull(c);
        assertEquals(1, c.ids().size(1));
        for (int r = 0; r < 4; r++) {
          assertEquals(123, c.ids().get(r).get(0).item_long());
          assertEquals(1e4f, c.logits().get(r).get(0).item_float());
        }
        approx.get(2).get(7).fill_(new Scalar(Double.NaN));
        assertNull(p.candidates(x, approx, 5, null), "a NaN row must send the step to every logit");
      }
      // A NaN weight whose low bits would round it into 0 as bf16 (bits 0xFFFFFFFF): the copy keeps a NaN and the
      // bound's norms propagate it, so the step takes every logit (as argmax over the full head would see the NaN).
      new org.bytedeco.javacpp.IntPointer(w.data_ptr()).put(5 * 64 + 3, 0xFFFFFFFF);
      try (PrunedHead p = PrunedHead.of(w, layout)) {
        assertNull(p.candidates(x, p.approx(x), 5, null), "a NaN weight must send the step to every logit");
      }
    }
  }

  /** Row 2-norms of a double matrix: (R, 1) with keepDim, else (R). */
  private static Tensor rowNorm(Tensor m, boolean keepDim) {
    return m.square().sum(new long[] {1}, keepDim, new ScalarTypeOptional(ScalarType.Double)).sqrt();
  }

  private static long[] longs(Tensor t) {
    long[] out = new long[(int) t.numel()];
    t.to(ScalarType.Long).contiguous().data_ptr_long().get(out);
    return out;
  }
}
