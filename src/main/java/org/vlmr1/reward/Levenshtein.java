// python-Levenshtein's ratio(), which VLM-R1 uses as a fractional accuracy for free-text answers.
package org.vlmr1.reward;

/** Normalised InDel similarity, as {@code Levenshtein.ratio} (python-Levenshtein >= 0.20, rapidfuzz) computes it. */
public final class Levenshtein {
  private Levenshtein() {}

  /**
   * {@code 1 - indel(a, b) / (|a| + |b|)} = {@code 2 * LCS(a, b) / (|a| + |b|)} over code points; 1.0 for two empty
   * strings.
   *
   * <p>Example: ratio("kitten", "sitting") = 2*4/13 = 0.615385.
   */
  public static double ratio(String a, String b) {
    int[] x = a.codePoints().toArray();
    int[] y = b.codePoints().toArray();
    int total = x.length + y.length;
    if (total == 0) {
      return 1.0;
    }
    return 2.0 * lcs(x, y) / total;
  }

  private static int lcs(int[] x, int[] y) {
    int[] prev = new int[y.length + 1];
    int[] cur = new int[y.length + 1];
    for (int i = 1; i <= x.length; i++) {
      for (int j = 1; j <= y.length; j++) {
        cur[j] = x[i - 1] == y[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
      java.util.Arrays.fill(cur, 0);
    }
    return prev[y.length];
  }
}
