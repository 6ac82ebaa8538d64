// numpy's float64 sum and mean, bit for bit: np.add.reduce adds a contiguous array by pairwise summation (eight
// running sums per block of up to 128 values, blocks split in halves at multiples of 8), not left to right. Ports of
// Python code that ends in np.mean (pycocotools' AP) need the same order to give the same last bit.
package org.vlmr1.util;

/** Sums and means of doubles in numpy's order. */
public final class NumpySum {
  private static final int BLOCK = 128; // numpy's PW_BLOCKSIZE

  private NumpySum() {}

  /** {@code np.sum(a)} for a float64 array (0 for an empty one). */
  public static double sum(double[] a) {
    return pairwise(a, 0, a.length);
  }

  /** {@code np.mean(a)}: the pairwise sum divided by the count (NaN for an empty array, as numpy gives). */
  public static double mean(double[] a) {
    return sum(a) / a.length;
  }

  private static double pairwise(double[] a, int from, int n) {
    if (n < 8) {
      double res = 0.0;
      for (int i = 0; i < n; i++) {
        res += a[from + i];
      }
      return res;
    }
    if (n <= BLOCK) {
      double[] r = new double[8];
      System.arraycopy(a, from, r, 0, 8);
      int i = 8;
      for (; i < n - (n % 8); i += 8) {
        for (int j = 0; j < 8; j++) {
          r[j] += a[from + i + j];
        }
      }
      double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++) {
        res += a[from + i];
      }
      return res;
    }
    int half = n / 2;
    half -= half % 8;
    return pairwise(a, from, half) + pairwise(a, from + half, n - half);
  }
}
