// The top-k candidates kernel against the libtorch composite it replaces (topk, the count of ids tied with the k-th
// value, sort by id) on fresh random logits (seed printed): continuous values, heavy ties with the k-th value (rows
// widen past k), -inf entries and rows with fewer than k finite values, NaN (refused: the composite keeps libtorch's
// NaN order). TensorSamplerTest's oracle is the Java sampler; TensorSamplerTopKTest checks the ids end to end.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.vlmr1.kernels.TensorAssert.floats;

import java.util.Arrays;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TopKKernelsTest {
  @BeforeAll
  static void load() {
    TorchRuntime.load();
    System.out.println("kernels: " + GrpoKernels.describeBackend());
  }

  private static void assumeNative() {
    assumeTrue(GrpoKernels.backend() == KernelBackend.NATIVE, "native kernels not loaded: "
        + GrpoKernels.describeBackend());
  }

  /** The composite's answer for each row: the k-th value (libtorch topk) and the ids >= it, ascending. */
  private static void assertMatchesComposite(Tensor x, int k) {
    TopKKernels.Candidates c = TopKKernels.candidates(x, k);
    long b = x.size(0);
    float[] kthExpected = floats(x.topk(k, 1, true, true).get0().narrow(1, k - 1, 1).contiguous());
    float[] kth = floats(c.kth());
    assertArrayEquals(kthExpected, kth, "k-th largest per row");
    float[] all = floats(x);
    int v = (int) x.size(1);
    long[] ids = new long[(int) c.ids().numel()];
    c.ids().contiguous().data_ptr_long().get(ids);
    int width = (int) c.ids().size(1);
    int widest = 0;
    for (int r = 0; r < b; r++) {
      long[] kept = new long[v];
      int n = 0;
      for (int i = 0; i < v; i++) {
        if (all[r * v + i] >= kth[r]) {
          kept[n++] = i;
        }
      }
      widest = Math.max(widest, n);
      assertTrue(n <= width, "row " + r + " keeps " + n + " ids, the candidates hold " + width);
      assertArrayEquals(Arrays.copyOf(kept, n), Arrays.copyOfRange(ids, r * width, r * width + n),
          "row " + r + ": the ids >= the k-th value, in id order");
      for (int j = n; j < width; j++) {
        long id = ids[r * width + j];
        assertTrue(id >= 0 && id < v && all[r * v + (int) id] < kth[r], "row " + r + " filler " + j + " (id " + id
            + ") must lie below the k-th value");
      }
    }
    assertEquals(widest, width, "K is the widest row's count");
  }

  @ParameterizedTest(name = "B={0} V={1} k={2}")
  @CsvSource({"16, 151936, 50", "1, 100, 1", "3, 1000, 999", "5, 4099, 64", "2, 64, 50"})
  void matchesTheCompositeOnRandomLogits(long b, long v, int k) {
    assumeNative();
    TensorAssert.seed("topk candidates B=" + b + " V=" + v + " k=" + k);
    try (PointerScope s = new PointerScope()) {
      assertMatchesComposite(torch.randn(b, v).mul_(new Scalar(3)), k);
    }
  }

  @Test
  void tiesWithTheKthValueWidenARow() {
    assumeNative();
    TensorAssert.seed("topk candidates ties");
    try (PointerScope s = new PointerScope()) {
      // integers in [0, 20): hundreds of ids share each value, so the k-th value ties far past k in most rows
      Tensor x = torch.randint(0, 20, new long[] {6, 3000}).to(ScalarType.Float);
      assertMatchesComposite(x, 50);
      // one row with a run of ties, the others without: rows narrower than K get fillers
      Tensor y = torch.randn(4, 500);
      y.select(0, 2).narrow(0, 100, 80).fill_(new Scalar(10.0));
      assertMatchesComposite(y, 50);
      assertTrue(TopKKernels.candidates(y, 50).ids().size(1) >= 80, "the tied row widens K");
    }
  }

  @Test
  void negativeInfinityAndShortRows() {
    assumeNative();
    TensorAssert.seed("topk candidates -inf");
    try (PointerScope s = new PointerScope()) {
      Tensor x = torch.randn(3, 300);
      x.select(0, 0).narrow(0, 0, 150).fill_(new Scalar(Double.NEGATIVE_INFINITY));
      x.select(0, 1).narrow(0, 10, 280).fill_(new Scalar(Double.NEGATIVE_INFINITY)); // 20 finite < k: kth = -inf
      assertMatchesComposite(x, 50);
    }
  }

  @Test
  void refusesNaNRows() {
    assumeNative();
    try (PointerScope s = new PointerScope()) {
      Tensor x = torch.randn(2, 100);
      x.select(0, 1).narrow(0, 7, 1).fill_(new Scalar(Double.NaN));
      assertNull(TopKKernels.candidates(x, 10), "a NaN row goes back to the composite");
    }
  }

  @Test
  void rejectsBadArguments() {
    assumeNative();
    try (PointerScope s = new PointerScope()) {
      assertThrows(IllegalArgumentException.class, () -> TopKKernels.candidates(torch.randn(2, 10), 10));
      assertThrows(IllegalArgumentException.class, () -> TopKKernels.candidates(torch.randn(2, 10), 0));
      assertThrows(IllegalArgumentException.class,
          () -> TopKKernels.candidates(torch.randn(2, 10).to(ScalarType.Double), 3));
    }
  }
}
