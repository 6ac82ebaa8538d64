// The keyed LoRA dropout mask: the tensor version equals the documented Java function element by element, left
// padding does not move a token's mask, and the kept fraction matches 1 - p (binomial bounds) with masks of other
// steps, samples and modules independent of each other.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
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

  /** The host path (CPU) against the libtorch int64 path (other devices) on random keys, padding and widths. */
  @Test
  void hostMaskEqualsTheTensorMask() {
    TorchRuntime.load();
    long seed = new Random().nextLong();
    System.out.println("LoraDropoutTest seed " + seed);
    Random rnd = new Random(seed);
    try (PointerScope s = new PointerScope()) {
      for (int trial = 0; trial < 5; trial++) {
        int rows = 1 + rnd.nextInt(4);
        int len = 1 + rnd.nextInt(40);
        long in = 1 + rnd.nextInt(300);
        long[] m = new long[rows * len];
        for (int b = 0; b < rows; b++) {
          int pad = rnd.nextInt(len);
          for (int l = pad; l < len; l++) {
            m[b * len + l] = 1;
          }
        }
        double p = rnd.nextDouble();
        LoraDropout d = LoraDropout.of(rnd.nextLong(), rnd.nextInt(1 << 20), rnd.nextInt(1 << 20),
            torch.tensor(m).reshape(rows, len));
        String module = "model.layers." + rnd.nextInt(36) + ".mlp.down_proj";
        Tensor host = d.hostKeep(module, in, p).to(ScalarType.Bool);                          // (B, L, in)
        Tensor ref = d.tensorKeep(module, in, p);                                              // (B, L, in)
        assertTrue(torch.equal(host, ref), "trial " + trial + ": B " + rows + " L " + len + " in " + in + " p " + p
            + ", differing elements " + host.ne(ref).sum().item_long());
      }
    }
  }

  /**
   * A training pass builds one mask per adapter and layer inside the step's scope: each call may leave only its mask
   * there, not its int64 temporaries (which made a 2-layer 3B-wide step peak at 11 GiB).
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
}
