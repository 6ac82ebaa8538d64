// Test helpers: seeded random inputs and dtype-aware comparisons that report the max difference and first mismatch.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.fail;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

final class TensorAssert {
  private TensorAssert() {}

  /** A fresh seed per test run, printed so a failure can be replayed (set -Dvlmr1.test.seed=...). */
  static long seed(String test) {
    String fixed = System.getProperty("vlmr1.test.seed");
    long seed = fixed != null ? Long.parseLong(fixed) : System.nanoTime() & 0xffffffffL;
    torch.manual_seed(seed);
    System.out.println(test + ": seed " + seed + " (replay with -Dvlmr1.test.seed=" + seed + ")");
    return seed;
  }

  static float[] floats(Tensor t) {
    Tensor c = t.detach().to(ScalarType.Float).contiguous();
    float[] out = new float[(int) c.numel()];
    FloatPointer p = c.data_ptr_float();
    p.get(out);
    return out;
  }

  /**
   * |actual - expected| <= rtol * max|expected| + atol elementwise (a scale-relative tolerance, so tiny entries of a
   * gradient are not judged against their own magnitude); infinities must match exactly; no NaN allowed.
   */
  static void assertClose(String what, Tensor expected, Tensor actual, double rtol, double atol) {
    float[] e = floats(expected);
    float[] a = floats(actual);
    if (e.length != a.length) {
      fail(what + ": " + a.length + " elements, expected " + e.length);
    }
    double scale = 0;
    for (float v : e) {
      if (Float.isFinite(v)) {
        scale = Math.max(scale, Math.abs(v));
      }
    }
    double tol = rtol * scale + atol;
    double maxDiff = 0;
    int first = -1;
    for (int i = 0; i < e.length; i++) {
      boolean bad;
      if (Float.isNaN(a[i]) || Float.isNaN(e[i])) {
        bad = true;
      } else if (Float.isInfinite(e[i]) || Float.isInfinite(a[i])) {
        bad = e[i] != a[i];
      } else {
        double d = Math.abs(a[i] - e[i]);
        maxDiff = Math.max(maxDiff, d);
        bad = d > tol;
      }
      if (bad && first < 0) {
        first = i;
      }
    }
    if (first >= 0) {
      fail(String.format("%s: max |diff| %.3g > tolerance %.3g (scale %.3g); first mismatch at %d: expected %s, got %s",
          what, maxDiff, tol, scale, first, e[first], a[first]));
    }
  }

  static void assertClose(String what, double expected, double actual, double rtol, double atol) {
    if (!(Math.abs(expected - actual) <= rtol * Math.abs(expected) + atol)) {
      fail(String.format("%s: expected %.9g, got %.9g (|diff| %.3g)", what, expected, actual,
          Math.abs(expected - actual)));
    }
  }

  static ScalarType dtypeOf(String name) {
    return name.equals("bf16") ? ScalarType.BFloat16 : ScalarType.Float;
  }

  /** Relative tolerance by dtype: f32 1e-5, bf16 1e-2 (HOUSE-STYLE.md 16). */
  static double rtol(String dtype) {
    return dtype.equals("bf16") ? 1e-2 : 1e-5;
  }
}
