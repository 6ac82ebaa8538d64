// The decode LM-head kernel against torch.linear (its oracle and fallback) on fresh random inputs (seed printed):
// shapes that leave remainders in every loop (vocabulary rows per tile, hidden rows per tile, hidden lanes), B = 1,
// the fallback conditions, and bits that do not depend on the thread count.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.vlmr1.kernels.TensorAssert.floats;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LmHeadKernelsTest {
  private static final double F32_EPS = Math.ulp(1.0f) / 2; // unit roundoff 2^-24

  @BeforeAll
  static void load() {
    TorchRuntime.load();
    System.out.println("kernels: " + GrpoKernels.describeBackend());
  }

  static boolean nativeLoaded() {
    return GrpoKernels.backend() == KernelBackend.NATIVE;
  }

  /**
   * Each logit is an H-term dot product summed in a different order on each side, so each is within H * u * sum|x w|
   * of the exact value (the classic bound); the two together within twice that.
   */
  static void assertCloseToLinear(Tensor hidden, Tensor weight, Tensor actual) {
    long h = hidden.size(1);
    float[] e = floats(torch.linear(hidden, weight));
    float[] bound = floats(torch.linear(hidden.abs(), weight.abs()).mul(new Scalar(2 * h * F32_EPS)));
    float[] a = floats(actual);
    assertEquals(e.length, a.length, "number of logits");
    for (int i = 0; i < e.length; i++) {
      if (!(Math.abs(a[i] - e[i]) <= bound[i] + 1e-30)) {
        fail("logit " + i + " (row " + i / weight.size(0) + ", vocab " + i % weight.size(0) + "): " + a[i]
            + " vs torch.linear " + e[i] + ", tolerance " + bound[i]);
      }
    }
  }

  @ParameterizedTest(name = "B={0} H={1} V={2}")
  @CsvSource({"1, 256, 1001", "1, 1, 1", "2, 37, 517", "3, 8, 4", "4, 256, 4099", "5, 1024, 1027",
      "16, 256, 2053", "16, 1024, 4096", "7, 100, 259"})
  void matchesTorchLinear(long b, long h, long v) {
    assumeTrue(nativeLoaded(), "native kernels not loaded: " + GrpoKernels.describeBackend());
    TensorAssert.seed("lmHead B=" + b + " H=" + h + " V=" + v);
    try (PointerScope s = new PointerScope()) {
      Tensor hidden = torch.randn(b, h);                                            // (B, H)
      Tensor weight = torch.randn(v, h).mul_(new Scalar(0.05));                     // (V, H)
      assertTrue(LmHeadKernels.usesNative(hidden, weight));
      Tensor logits = LmHeadKernels.logits(hidden, weight);                         // (B, V)
      assertArrayEquals(new long[] {b, v}, TensorChecks.shape(logits));
      assertCloseToLinear(hidden, weight, logits);
    }
  }

  @Test
  void nonContiguousHiddenRows() {
    assumeTrue(nativeLoaded(), "native kernels not loaded");
    TensorAssert.seed("lmHead non-contiguous hidden");
    try (PointerScope s = new PointerScope()) {
      Tensor hidden = torch.randn(64, 6).t();                                        // (6, 64), strides (1, 6)
      Tensor weight = torch.randn(301, 64);
      assertCloseToLinear(hidden, weight, LmHeadKernels.logits(hidden, weight));
    }
  }

  @Test
  void bitsDoNotDependOnTheThreadCount() {
    assumeTrue(nativeLoaded(), "native kernels not loaded");
    TensorAssert.seed("lmHead threads");
    int threads = torch.get_num_threads();
    try (PointerScope s = new PointerScope()) {
      Tensor hidden = torch.randn(5, 96);
      Tensor weight = torch.randn(3001, 96);
      float[] many = floats(LmHeadKernels.logits(hidden, weight));
      torch.set_num_threads(1);
      float[] one = floats(LmHeadKernels.logits(hidden, weight));
      assertArrayEquals(one, many, "logits with 1 thread vs " + threads);
    } finally {
      torch.set_num_threads(threads);
    }
  }

  @Test
  void emptyBatch() {
    try (PointerScope s = new PointerScope()) {
      Tensor logits = LmHeadKernels.logits(torch.randn(0, 32), torch.randn(11, 32));
      assertArrayEquals(new long[] {0, 11}, TensorChecks.shape(logits));
    }
  }

  @Test
  void fallsBackToTorchLinearOutsideFloat32CpuInference() {
    TensorAssert.seed("lmHead fallback");
    try (PointerScope s = new PointerScope()) {
      Tensor hidden = torch.randn(3, 16);
      Tensor weight = torch.randn(40, 16);
      // bf16: torch.linear, bit for bit
      Tensor hb = hidden.to(ScalarType.BFloat16);
      Tensor wb = weight.to(ScalarType.BFloat16);
      assertFalse(LmHeadKernels.usesNative(hb, wb));
      assertArrayEquals(floats(torch.linear(hb, wb)), floats(LmHeadKernels.logits(hb, wb)));
      // a non-contiguous weight
      Tensor wt = torch.randn(16, 40).t();                                          // (40, 16) view
      assertFalse(LmHeadKernels.usesNative(hidden, wt));
      assertArrayEquals(floats(torch.linear(hidden, wt)), floats(LmHeadKernels.logits(hidden, wt)));
      // an autograd graph wanted: the kernel has no backward, so torch.linear keeps the graph
      Tensor wg = weight.clone().requires_grad_(true);
      try (AutoGradMode on = new AutoGradMode(true)) {
        assertFalse(LmHeadKernels.usesNative(hidden, wg));
        assertTrue(LmHeadKernels.logits(hidden, wg).requires_grad());
      }
      try (AutoGradMode off = new AutoGradMode(false)) {
        assertEquals(nativeLoaded(), LmHeadKernels.usesNative(hidden, wg));
      }
    }
  }

  @Test
  void rejectsMismatchedShapes() {
    try (PointerScope s = new PointerScope()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> LmHeadKernels.logits(torch.randn(2, 8), torch.randn(10, 9)));
      assertTrue(e.getMessage().contains("[2, 8]") && e.getMessage().contains("[10, 9]"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> LmHeadKernels.logits(torch.randn(2, 1, 8),
          torch.randn(10, 8)));
    }
  }
}
