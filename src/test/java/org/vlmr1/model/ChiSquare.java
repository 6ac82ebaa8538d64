// Pearson's chi-square statistic and its upper-tail p-value (regularized upper incomplete gamma Q(df/2, x/2), by the
// series or Lentz's continued fraction as in Numerical Recipes 6.2), for the sampler's statistical tests.
package org.vlmr1.model;

/** Goodness-of-fit and independence tests over counts. */
final class ChiSquare {
  private ChiSquare() {}

  /** p-value of sum (observed - n p)^2 / (n p) against the distribution {@code p}, over its non-zero cells. */
  static double goodnessOfFit(long[] observed, double[] p) {
    long n = 0;
    for (long o : observed) {
      n += o;
    }
    double x = 0;
    int cells = 0;
    for (int i = 0; i < p.length; i++) {
      if (p[i] == 0) {
        if (observed[i] != 0) {
          return 0; // a token outside the processed support: impossible under the distribution
        }
        continue;
      }
      double e = n * p[i];
      x += (observed[i] - e) * (observed[i] - e) / e;
      cells++;
    }
    return pValue(x, cells - 1);
  }

  /** p-value of the independence test of a contingency table (rows x cols with non-zero margins only). */
  static double independence(long[][] table) {
    int r = table.length;
    int c = table[0].length;
    double[] rowSum = new double[r];
    double[] colSum = new double[c];
    double n = 0;
    for (int i = 0; i < r; i++) {
      for (int j = 0; j < c; j++) {
        rowSum[i] += table[i][j];
        colSum[j] += table[i][j];
        n += table[i][j];
      }
    }
    int rows = 0;
    int cols = 0;
    for (double s : rowSum) {
      rows += s > 0 ? 1 : 0;
    }
    for (double s : colSum) {
      cols += s > 0 ? 1 : 0;
    }
    double x = 0;
    for (int i = 0; i < r; i++) {
      for (int j = 0; j < c; j++) {
        if (rowSum[i] > 0 && colSum[j] > 0) {
          double e = rowSum[i] * colSum[j] / n;
          x += (table[i][j] - e) * (table[i][j] - e) / e;
        }
      }
    }
    return pValue(x, (rows - 1) * (cols - 1));
  }

  /** P(X >= x) for X ~ chi-square(df). */
  static double pValue(double x, int df) {
    if (df < 1) {
      throw new IllegalArgumentException("a chi-square test needs at least one degree of freedom, got " + df);
    }
    return upperGamma(df / 2.0, x / 2.0);
  }

  /** Q(a, x) = Gamma(a, x) / Gamma(a). */
  static double upperGamma(double a, double x) {
    if (x <= 0) {
      return 1;
    }
    double lead = Math.exp(-x + a * Math.log(x) - logGamma(a));
    if (x < a + 1) {
      double sum = 1 / a;
      double term = sum;
      for (int n = 1; n < 10_000; n++) {
        term *= x / (a + n);
        sum += term;
        if (Math.abs(term) < Math.abs(sum) * 1e-16) {
          break;
        }
      }
      return Math.max(0, 1 - lead * sum);
    }
    double tiny = 1e-300;
    double b = x + 1 - a;
    double c = 1 / tiny;
    double d = 1 / b;
    double h = d;
    for (int i = 1; i < 10_000; i++) {
      double an = -i * (i - a);
      b += 2;
      d = an * d + b;
      d = Math.abs(d) < tiny ? tiny : d;
      c = b + an / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      double del = d * c;
      h *= del;
      if (Math.abs(del - 1) < 1e-16) {
        break;
      }
    }
    return lead * h;
  }

  /** Lanczos approximation (g = 7, n = 9), |error| below 1e-15 for a > 0.5. */
  static double logGamma(double a) {
    double[] c = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
    if (a < 0.5) {
      return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * a))) - logGamma(1 - a);
    }
    a -= 1;
    double s = c[0];
    for (int i = 1; i < 9; i++) {
      s += c[i] / (a + i);
    }
    double t = a + 7.5;
    return 0.5 * Math.log(2 * Math.PI) + (a + 0.5) * Math.log(t) - t + Math.log(s);
  }
}
