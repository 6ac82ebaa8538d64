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
    for (int h : new int[] {64, 71}) { // 71: a scalar tail after the vector lanes
      try (PointerScope s = new PointerScope()) {
        Tensor w = head(rnd, 3001, h);
        Tensor x = hidden(rnd, w, 7);
        Tensor full = LmHeadKernels.logits(x, w);                                            // (B, V) exact
        try (PrunedHead p = PrunedHead.of(w)) {
          Tensor approx = p.approx(x);
          for (int k : new int[] {1, 5, 50}) {
            PrunedHead.Candidates c = p.candidates(x, approx, k, null);
            assertNotNull(c, "k " + k + " h " + h);
            checkCandidates(full, c, k, "h " + h + " k " + k);
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
    try (PointerScope s = new PointerScope()) {
      Tensor[] heads = {head(rnd, 2003, 96), torch.randn(2003, 96).mul(new Scalar(1e3)).contiguous()};
      for (Tensor wt : heads) {
        try (PrunedHead ph = PrunedHead.of(wt)) {
          Tensor x = torch.randn(5, 96).mul(new Scalar(rnd.nextDouble() * 100));             // (B, H)
          Tensor err = ph.approx(x).sub(LmHeadKernels.logits(x, wt)).abs().to(ScalarType.Double); // (B, V)
          Tensor xn = x.to(ScalarType.Double).square().sum(new long[] {1}, true, new ScalarTypeOptional(
              ScalarType.Double)).sqrt();                                                      // (B, 1)
          Tensor wn = wt.to(ScalarType.Double).square().sum(new long[] {1}, false, new ScalarTypeOptional(
              ScalarType.Double)).sqrt();                                                      // (V)
          Tensor bound = xn.mul(wn.unsqueeze(0)).mul(new Scalar(PrunedHead.boundFactor(96))); // (B, V)
          double worst = err.div(bound).max().item_double();
          System.out.println("PrunedHeadTest worst error / bound " + worst);
          // the kernel's oracle: torch.linear on the bf16-rounded weights, within float32 dot-product rounding
          Tensor composite = torch.linear(x, wt.to(ScalarType.BFloat16).to(ScalarType.Float));  // (B, V)
          double off = ph.approx(x).sub(composite).abs().to(ScalarType.Double).div(bound).max().item_double();
          assertTrue(off < 2 * 96 * Math.pow(2, -24) / PrunedHead.boundFactor(96),
              "approx is not the bf16 weights' product: " + off + " of the bound away from torch.linear");
          assertTrue(worst <= 1.0, "approximation error exceeds the bound: " + worst + " of it");
          assertTrue(worst > 1e-3, "the bound is implausibly loose or the approximation is not bf16: " + worst);
        }
      }
    }
  }

  @Test
  void theSamplerPicksTheSameIdFromTheCandidates() {
    long seed = new Random().nextLong();
    System.out.println("PrunedHeadTest sampler seed " + seed);
    Random rnd = new Random(seed);
    try (PointerScope s = new PointerScope()) {
      Tensor w = head(rnd, 4099, 64);
      Tensor x = hidden(rnd, w, 9).div(new Scalar(8));                                        // flatter rows
      Tensor full = LmHeadKernels.logits(x, w);
      try (PrunedHead p = PrunedHead.of(w)) {
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
  }

  /** Columns a logit bias overwrote are taken as exact: the forced id alone when it dominates, its value kept. */
  @Test
  void overwrittenColumnsAreExactAndNonFiniteRowsFallBack() {
    Random rnd = new Random(7);
    try (PointerScope s = new PointerScope()) {
      Tensor w = head(rnd, 1500, 64);
      Tensor x = hidden(rnd, w, 4);
      try (PrunedHead p = PrunedHead.of(w)) {
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
    }
  }

  private static long[] longs(Tensor t) {
    long[] out = new long[(int) t.numel()];
    t.to(ScalarType.Long).contiguous().data_ptr_long().get(out);
    return out;
  }
}
