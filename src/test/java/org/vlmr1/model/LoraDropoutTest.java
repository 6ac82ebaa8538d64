// The keyed LoRA dropout mask: the tensor version equals the documented Java function element by element, left
// padding does not move a token's mask, and the kept fraction matches 1 - p (binomial bounds) with masks of other
// steps, samples and modules independent of each other; image-slot keys (InternVL's mlp1) are the token keys of
// the slot positions, so a sample's slots get the same mask whatever batch or padding carries it.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.vlmr1.kernels.GrpoKernels;
import org.vlmr1.kernels.KernelBackend;
import org.vlmr1.kernels.TorchRuntime;

class LoraDropoutTest {
  @Test
  void tensorMaskEqualsTheJavaFunction() {
    TorchRuntime.load();
    long seed = new Random().nextLong();
    System.out.println("LoraDropoutTest seed " + seed);
    Random rnd = new Random(seed);
    try (PointerScope s = new PointerScope()) {
      long[] m = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};                                       // (2, 6), row 0 padded
      Tensor mask = torch.tensor(m).reshape(2, 6);
      long runSeed = rnd.nextLong();
      long step = rnd.nextInt(1000);
      long first = rnd.nextInt(1000);
      double p = 0.3;
      int in = 7;
      LoraDropout d = LoraDropout.of(runSeed, step, first, mask);
      float[] got = TensorChecksAccess.floats(d.mask("model.layers.3.mlp.up_proj", in, p, ScalarType.Float));
      for (int b = 0; b < 2; b++) {
        for (int l = 0; l < 6; l++) {
          long t = l - (b == 0 ? 2 : 0);
          if (t < 0) {
            continue; // padding: its outputs are never read
          }
          for (int j = 0; j < in; j++) {
            double u = LoraDropout.uniform(runSeed, step, first + b, "model.layers.3.mlp.up_proj", t * in + j);
            float want = u >= p ? (float) (1 / (1 - p)) : 0f;
            assertEquals(want, got[(b * 6 + l) * in + j], "b " + b + " l " + l + " j " + j);
          }
        }
      }
    }
  }

  /**
   * The native kernel against the libtorch composite (its oracle): random keys, shapes, left padding, narrowed
   * positions and p, in every dtype the kernel writes, bit for bit; one p sits exactly on a drawn u (kept, as
   * u >= p) and one just above it (dropped), the boundary of the kernel's integer comparison.
   */
  @Test
  void nativeMaskEqualsTheCompositeBitForBit() {
    TorchRuntime.load();
    Assumptions.assumeTrue(GrpoKernels.backend() == KernelBackend.NATIVE, "native kernels not loaded");
    long seed = new Random().nextLong();
    System.out.println("LoraDropoutTest native seed " + seed);
    Random rnd = new Random(seed);
    ScalarType[] dtypes = {ScalarType.Float, ScalarType.BFloat16, ScalarType.Double};
    ScalarType[] bits = {ScalarType.Int, ScalarType.Short, ScalarType.Long};
    for (int trial = 0; trial < 12; trial++) {
      try (PointerScope s = new PointerScope()) {
        int b = 1 + rnd.nextInt(4);
        int l = 1 + rnd.nextInt(40);
        long in = 1 + rnd.nextInt(300);
        long[] m = new long[b * l];
        for (int i = 0; i < b; i++) {
          int pad = rnd.nextInt(l);
          for (int j = pad; j < l; j++) {
            m[i * l + j] = 1;
          }
        }
        LoraDropout d = LoraDropout.of(rnd.nextLong(), rnd.nextInt(1 << 20), rnd.nextInt(1 << 20),
            torch.tensor(m).reshape(b, l));
        if (trial % 3 == 1 && l > 2) {
          d = d.narrow(1, l - 2); // non-contiguous positions, as the LM head's completion positions are
        }
        String module = "model.layers." + rnd.nextInt(36) + ".mlp.up_proj";
        double p = trial == 0 ? 0 : rnd.nextDouble();
        if (trial >= 10) { // a drawn u of this very mask: kept at p = u, dropped at the next double
          long pos = d.positions().get(0).get(d.positions().size(1) - 1).item_long();
          double u = LoraDropout.uniform(d.seed(), d.step(), d.samples()[0], module, pos * in + in - 1);
          p = trial == 10 ? u : Math.nextUp(u);
        }
        for (int k = 0; k < dtypes.length; k++) {
          Tensor want = d.maskComposite(module, in, p, dtypes[k]);
          Tensor got = d.mask(module, in, p, dtypes[k]);
          assertEquals(dtypes[k], got.scalar_type().intern());
          assertTrue(torch.equal(want.view(bits[k]), got.view(bits[k])), "trial " + trial + " " + dtypes[k]
              + " B " + b + " L " + l + " in " + in + " p " + p + ": first mismatch at flat index "
              + firstMismatch(want, got));
        }
      }
    }
  }

  private static long firstMismatch(Tensor a, Tensor b) {
    Tensor ne = a.to(ScalarType.Double).ne(b.to(ScalarType.Double)).flatten().nonzero();
    return ne.numel() == 0 ? -1 : ne.get(0).item_long();
  }

  /**
   * A training pass builds one mask per adapter and layer inside the step's scope: each call may leave only its mask
   * there, not its int64 temporaries (which made a 2-layer 3B-wide step peak at 11 GiB). On the CPU this is the
   * native path; the composite's own scope is not measured here, because RSS after freeing eight 8 MiB temporaries
   * per call depends on glibc's trimming (262 MiB over 10 calls with the scope in place).
   */
  @Test
  void maskLeavesOnlyItsResultInTheCallersScope() throws Exception {
    TorchRuntime.load();
    try (PointerScope s = new PointerScope()) {
      LoraDropout d = LoraDropout.of(3, 1, 0, torch.ones(new long[] {1, 256},
          new org.bytedeco.pytorch.TensorOptions(ScalarType.Long)));
      d.mask("model.layers.0.mlp.down_proj", 4096, 0.05, ScalarType.BFloat16); // allocator warm-up
      long before = rssBytes();
      for (int i = 0; i < 10; i++) {
        d.mask("model.layers." + i + ".mlp.down_proj", 4096, 0.05, ScalarType.BFloat16);       // (1, 256, 4096)
      }
      long grown = rssBytes() - before;
      // 10 bf16 masks are 20 MiB; one call's int64 temporaries alone are over 100 MiB
      System.out.printf("RSS grew %.1f MiB over 10 masks%n", grown / 1048576.0);
      assertTrue(grown < 100L << 20, "RSS grew " + grown / 1048576 + " MiB over 10 masks of 2 MiB");
    }
  }

  private static long rssBytes() throws java.io.IOException {
    for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS");
  }

  @Test
  void leftPaddingDoesNotMoveATokensMask() {
    TorchRuntime.load();
    try (PointerScope s = new PointerScope()) {
      Tensor a = LoraDropout.of(5, 2, 40, torch.tensor(new long[] {1, 1, 1, 1}).reshape(1, 4))
          .mask("lm_head", 16, 0.5, ScalarType.Float);                                        // (1, 4, 16)
      Tensor b = LoraDropout.of(5, 2, 40, torch.tensor(new long[] {0, 0, 0, 1, 1, 1, 1}).reshape(1, 7))
          .mask("lm_head", 16, 0.5, ScalarType.Float);                                        // (1, 7, 16)
      assertTrue(torch.equal(a, b.narrow(1, 3, 4)));
    }
  }

  @Test
  void keptFractionAndIndependence() {
    TorchRuntime.load();
    try (PointerScope s = new PointerScope()) {
      double p = 0.05;
      Tensor ones = torch.ones(new long[] {4, 500}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Long));
      Tensor k1 = LoraDropout.of(1, 0, 0, ones).mask("model.layers.0.self_attn.q_proj", 64, p, ScalarType.Double)
          .ne(new Scalar(0)).to(ScalarType.Double);                                           // (4, 500, 64)
      Tensor k2 = LoraDropout.of(1, 1, 0, ones).mask("model.layers.0.self_attn.q_proj", 64, p, ScalarType.Double)
          .ne(new Scalar(0)).to(ScalarType.Double);
      Tensor k3 = LoraDropout.of(1, 0, 0, ones).mask("model.layers.1.self_attn.q_proj", 64, p, ScalarType.Double)
          .ne(new Scalar(0)).to(ScalarType.Double);
      double n = k1.numel();
      double sd = Math.sqrt(p * (1 - p) / n);
      double dropped = 1 - k1.mean().item_double();
      System.out.printf("dropped %.5f (p %.2f, sd %.5f)%n", dropped, p, sd);
      assertTrue(Math.abs(dropped - p) < 5 * sd, "dropped fraction " + dropped);
      // both dropped: p^2 for independent masks
      for (Tensor other : new Tensor[] {k2, k3}) {
        double both = k1.neg().add(new Scalar(1)).mul(other.neg().add(new Scalar(1))).mean().item_double();
        double sdBoth = Math.sqrt(p * p * (1 - p * p) / n);
        assertTrue(Math.abs(both - p * p) < 5 * sdBoth, "joint drop rate " + both + " vs " + p * p);
      }
    }
  }

  /**
   * Slot keys: feature j of image slot k (row-major over the batch, the order features are placed in) is kept when
   * the Java function of (sample of its row, its token position from the row's first real token, j) says so, shaped
   * like the mlp1 input (tiles, tokens per tile, in); the same slots in another batch with other padding give the
   * same mask.
   */
  @Test
  void imageSlotKeysAreTheTokenKeysOfTheSlots() {
    TorchRuntime.load();
    long seed = new Random().nextLong();
    System.out.println("LoraDropoutTest slots seed " + seed);
    Random rnd = new Random(seed);
    try (PointerScope s = new PointerScope()) {
      // row 0: 2 pads, then 8 tokens with 4 slots at positions 1..4; row 1: 10 tokens with 4 slots at 3..6
      long[] m = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
      long[] slot = new long[20];
      for (int t = 1; t <= 4; t++) {
        slot[2 + t] = 1;
        slot[10 + 2 + t] = 1;
      }
      Tensor mask = torch.tensor(m).reshape(2, 10);
      Tensor isSlot = torch.tensor(slot).reshape(2, 10).ne(new Scalar(0));             // (B, L)
      long runSeed = rnd.nextLong();
      long step = rnd.nextInt(1000);
      long first = rnd.nextInt(1000);
      double p = 0.4;
      int in = 5;
      LoraDropout keys = LoraDropout.of(runSeed, step, first, mask).atSlots(isSlot);
      Tensor x = torch.ones(new long[] {2, 4, in});                                           // (tiles, T, in)
      float[] got = TensorChecksAccess.floats(keys.maskFor("mlp1.1", x, p));
      long[][] positions = {{1, 2, 3, 4}, {3, 4, 5, 6}};
      for (int tile = 0; tile < 2; tile++) {
        for (int t = 0; t < 4; t++) {
          for (int j = 0; j < in; j++) {
            double u = LoraDropout.uniform(runSeed, step, first + tile, "mlp1.1", positions[tile][t] * in + j);
            assertEquals(u >= p ? (float) (1 / (1 - p)) : 0f, got[(tile * 4 + t) * in + j],
                "tile " + tile + " token " + t + " j " + j);
          }
        }
      }
      // row 1 alone, unpadded, as global sample first + 1: its tile's mask is unchanged
      LoraDropout alone = LoraDropout.of(runSeed, step, first + 1, mask.narrow(0, 1, 1))
          .atSlots(isSlot.narrow(0, 1, 1));
      Tensor one = alone.maskFor("mlp1.1", torch.ones(new long[] {1, 4, in}), p);
      assertTrue(torch.equal(one, keys.maskFor("mlp1.1", x, p).narrow(0, 1, 1)), "batch-independent");
      org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
          () -> keys.maskFor("mlp1.1", torch.ones(new long[] {3, 4, in}), p), "3 tiles for 8 slots");
    }
  }
}
