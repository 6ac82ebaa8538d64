// A family's image preprocessing on the native kernels compared with its Java reference, for `doctor`: the family
// supplies the check, so the doctor names no family.
package org.vlmr1.module;

import java.util.function.DoubleSupplier;

/**
 * @param what the doctor's label, e.g. "Qwen image patches vs Java reference"
 * @param maxDiff runs both on a fixed random image and returns the largest absolute difference (0 when bit-exact;
 *     infinity when the shapes differ)
 */
public record PreprocessCheck(String what, DoubleSupplier maxDiff) {
  /** The largest |a - b| over two equally long arrays, infinity when their lengths differ. */
  public static double maxDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      return Double.POSITIVE_INFINITY;
    }
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs((double) a[i] - b[i]));
    }
    return m;
  }

  /** A random RGB image of a fixed seed. */
  public static org.vlmr1.data.RgbImage randomImage(long seed, int w, int h) {
    byte[] px = new byte[w * h * 3];
    new java.util.Random(seed).nextBytes(px);
    return new org.vlmr1.data.RgbImage(w, h, px);
  }
}
