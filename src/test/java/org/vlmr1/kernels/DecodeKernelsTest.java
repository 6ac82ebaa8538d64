// The decode-step projection kernels against their libtorch composites (torch.linear, torch.silu, mul) on fresh random
// inputs (seed printed): several projections of one input in one call, with and without biases, sizes that leave
// remainders in every work split; the fused SwiGLU; bits that do not depend on the thread count; the fallbacks.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.vlmr1.kernels.TensorAssert.floats;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DecodeKernelsTest {
  @BeforeAll
  static void load() {
    TorchRuntime.load();
    System.out.println("kernels: " + GrpoKernels.describeBackend());
  }

  private static boolean nativeLoaded() {
    return GrpoKernels.backend() == KernelBackend.NATIVE;
  }

  @ParameterizedTest(name = "B={0} in={1} outs={2},{3},{4} bias={5}")
  @CsvSource({"16, 256, 256, 32, 32, true", "1, 64, 1, 1, 1, false", "5, 37, 130, 65, 3, true",
      "16, 1024, 1024, 128, 128, true", "3, 100, 200, 0, 0, false", "64, 96, 64, 129, 0, true"})
  void projectionsMatchTorchLinear(long b, long in, long n0, long n1, long n2, boolean withBias) {
    assumeTrue(nativeLoaded(), "native kernels not loaded: " + GrpoKernels.describeBackend());
    TensorAssert.seed("decode projections B=" + b + " in=" + in + " outs=" + n0 + "," + n1 + "," + n2);
    try (PointerScope s = new PointerScope()) {
      long[] sizes = n2 > 0 ? new long[] {n0, n1, n2} : n1 > 0 ? new long[] {n0, n1} : new long[] {n0};
      Tensor x = torch.randn(b, in);                                                        // (B, in)
      Tensor[] w = new Tensor[sizes.length];
      Tensor[] bias = withBias ? new Tensor[sizes.length] : null;
      for (int j = 0; j < sizes.length; j++) {
        w[j] = torch.randn(sizes[j], in).mul_(new Scalar(0.05));                            // (n_j, in)
        if (withBias && j != 1) { // one projection without a bias among biased ones
          bias[j] = torch.randn(sizes[j]);                                                  // (n_j)
        }
      }
      Tensor[] y = DecodeKernels.projections(x, w, bias);
      for (int j = 0; j < sizes.length; j++) {
        assertArrayEquals(new long[] {b, sizes[j]}, TensorChecks.shape(y[j]), "projection " + j + " shape");
        // the dot products are lm_head_logits' (same order, same bits), then + b as torch.linear's y + b
        Tensor dots = LmHeadKernels.logits(x, w[j]);                                        // (B, n_j)
        Tensor expectBits = bias != null && bias[j] != null ? dots.add(bias[j]) : dots;
        assertArrayEquals(floats(expectBits), floats(y[j]), "projection " + j + " vs the LM-head kernel + bias");
        Tensor absBias = bias != null && bias[j] != null ? bias[j].abs() : null;
        assertWithinDotBound(x, w[j], absBias, torch.linear(x, w[j]).add(bias != null && bias[j] != null ? bias[j]
            : torch.zeros(sizes[j])), y[j], "projection " + j);
      }
    }
  }

  /** |actual - expected| <= 2 * in * u * (|x| |w|^T + |b|): both sides are in-term sums in different orders. */
  private static void assertWithinDotBound(Tensor x, Tensor w, Tensor absBias, Tensor expected, Tensor actual,
      String what) {
    Tensor mag = torch.linear(x.abs(), w.abs());
    if (absBias != null) {
      mag = mag.add(absBias);
    }
    float[] bound = floats(mag.mul(new Scalar(2 * (x.size(1) + 1) * Math.ulp(1.0f) / 2)));
    float[] e = floats(expected);
    float[] a = floats(actual);
    assertEquals(e.length, a.length, what + ": number of outputs");
    for (int i = 0; i < e.length; i++) {
      if (!(Math.abs(a[i] - e[i]) <= bound[i] + 1e-30)) {
        fail(what + " output " + i + ": " + a[i] + " vs torch.linear " + e[i] + ", tolerance " + bound[i]);
      }
    }
  }

  @ParameterizedTest(name = "B={0} in={1} n={2}")
  @CsvSource({"16, 256, 704", "1, 64, 1", "7, 37, 130", "64, 128, 65", "16, 1024, 2816"})
  void swiGluMatchesComposite(long b, long in, long n) {
    assumeTrue(nativeLoaded(), "native kernels not loaded");
    TensorAssert.seed("decode swiglu B=" + b + " in=" + in + " n=" + n);
    try (PointerScope s = new PointerScope()) {
      Tensor x = torch.randn(b, in);                                                        // (B, in)
      Tensor gate = torch.randn(n, in).mul_(new Scalar(0.1));                               // (n, in)
      Tensor up = torch.randn(n, in).mul_(new Scalar(0.1));
      Tensor y = DecodeKernels.swiGlu(x, gate, up);                                         // (B, n)
      assertArrayEquals(new long[] {b, n}, TensorChecks.shape(y));
      // On the same dot products (the LM-head kernel's bits), only silu's exp rounds differently from libtorch's:
      // a few float32 ulps of the result.
      Tensor g = LmHeadKernels.logits(x, gate);
      Tensor u = LmHeadKernels.logits(x, up);
      float[] e = floats(torch.silu(g).mul(u));
      float[] a = floats(y);
      for (int i = 0; i < e.length; i++) {
        if (!(Math.abs(a[i] - e[i]) <= 4 * Math.ulp(Math.abs(e[i])) + 1e-37)) {
          fail("swiglu output " + i + ": " + a[i] + " vs silu(g) * u " + e[i] + " (" + Math.abs(a[i] - e[i])
              / Math.ulp(Math.abs(e[i])) + " ulps)");
        }
      }
      // and against the composite on torch.linear: the dot-product bound carried through silu (slope <= 1.1) * u
      TensorAssert.assertClose("swiglu vs composite", torch.silu(torch.linear(x, gate)).mul(torch.linear(x, up)), y,
          1e-4, 1e-5);
    }
  }

  @Test
  void bitsDoNotDependOnTheThreadCount() {
    assumeTrue(nativeLoaded(), "native kernels not loaded");
    TensorAssert.seed("decode kernels threads");
    int threads = torch.get_num_threads();
    try (PointerScope s = new PointerScope()) {
      Tensor x = torch.randn(9, 160);
      Tensor[] w = {torch.randn(512, 160), torch.randn(64, 160), torch.randn(64, 160)};
      Tensor[] bias = {torch.randn(512), torch.randn(64), torch.randn(64)};
      Tensor gate = torch.randn(700, 160);
      Tensor up = torch.randn(700, 160);
      Tensor[] many = DecodeKernels.projections(x, w, bias);
      float[] manyGlu = floats(DecodeKernels.swiGlu(x, gate, up));
      torch.set_num_threads(1);
      Tensor[] one = DecodeKernels.projections(x, w, bias);
      for (int j = 0; j < 3; j++) {
        assertArrayEquals(floats(one[j]), floats(many[j]), "projection " + j + " with 1 thread vs " + threads);
      }
      assertArrayEquals(floats(DecodeKernels.swiGlu(x, gate, up)), manyGlu, "swiglu with 1 thread vs " + threads);
    } finally {
      torch.set_num_threads(threads);
    }
  }

  @Test
  void fallsBackToTheCompositeOutsideFloat32Cpu() {
    TensorAssert.seed("decode kernels fallback");
    try (PointerScope s = new PointerScope()) {
      Tensor x = torch.randn(3, 16).to(ScalarType.BFloat16);
      Tensor w = torch.randn(40, 16).to(ScalarType.BFloat16);
      Tensor b = torch.randn(40).to(ScalarType.BFloat16);
      Tensor[] y = DecodeKernels.projections(x, new Tensor[] {w}, new Tensor[] {b});
      assertArrayEquals(floats(torch.linear(x, w, new org.bytedeco.pytorch.TensorOptional(b))), floats(y[0]));
      Tensor g = DecodeKernels.swiGlu(x, w, w);
      assertArrayEquals(floats(torch.silu(torch.linear(x, w)).mul(torch.linear(x, w))), floats(g));
      // more rows than the fused kernel's scratch holds: the composite, same values as the kernel's up to rounding
      Tensor big = torch.randn(DecodeKernels.MAX_ROWS + 1, 16);
      Tensor wf = torch.randn(40, 16);
      assertArrayEquals(floats(torch.silu(torch.linear(big, wf)).mul(torch.linear(big, wf))),
          floats(DecodeKernels.swiGlu(big, wf, wf)));
    }
  }

  @Test
  void rejectsMismatchedShapes() {
    try (PointerScope s = new PointerScope()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> DecodeKernels.projections(torch.randn(2, 8), new Tensor[] {torch.randn(10, 9)}, null));
      org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("[10, 9]"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> DecodeKernels.projections(torch.randn(2, 8),
          new Tensor[] {torch.randn(10, 8)}, new Tensor[] {torch.randn(9)}));
      assertThrows(IllegalArgumentException.class, () -> DecodeKernels.swiGlu(torch.randn(2, 8),
          torch.randn(10, 8), torch.randn(11, 8)));
    }
  }
}
