// numpy's pairwise float64 sum, against values numpy 1.24 printed (np.sum / np.mean of a_i = 1/(i+1) + (i % 7)e-3,
// made from exactly rounded operations only, so Java computes the same elements). A left-to-right sum, which the
// old CocoMap used, differs in the last bits at n = 8, 100, 129, 1010 and 2999 (shown beside each case).
package org.vlmr1.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NumpySumTest {
  private static double[] values(int n) {
    double[] a = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = 1.0 / (i + 1) + (i % 7) * 1e-3;
    }
    return a;
  }

  private static double leftToRight(double[] a) {
    double s = 0;
    for (double v : a) {
      s += v;
    }
    return s;
  }

  @Test
  void sumsAndMeansAsNumpyDoes() {
    // n, np.sum, np.mean, Python's sum() (left to right)
    Object[][] cases = {
        {5, 2.2933333333333334, 0.45866666666666667, 2.2933333333333334},
        {8, 2.738857142857143, 0.34235714285714286, 2.7388571428571433},
        {100, 5.482377517639621, 0.05482377517639621, 5.482377517639623},
        {129, 5.821899030573668, 0.04513100023700518, 5.8218990305736735},
        {1010, 10.52041624255046, 0.010416253705495506, 10.52041624255047},
        {2999, 17.574416556625856, 0.005860092216280712, 17.574416556625845}};
    for (Object[] c : cases) {
      double[] a = values((Integer) c[0]);
      assertEquals((Double) c[1], NumpySum.sum(a), 0.0, "np.sum, n = " + c[0]);
      assertEquals((Double) c[2], NumpySum.mean(a), 0.0, "np.mean, n = " + c[0]);
      assertEquals((Double) c[3], leftToRight(a), 0.0, "the left-to-right oracle, n = " + c[0]);
    }
    assertNotEquals(leftToRight(values(1010)), NumpySum.sum(values(1010)));
  }

  @Test
  void emptyArrays() {
    assertEquals(0.0, NumpySum.sum(new double[0]));
    assertTrue(Double.isNaN(NumpySum.mean(new double[0])));
  }
}
