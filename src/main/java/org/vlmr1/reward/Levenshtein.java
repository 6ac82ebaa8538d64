// python-Levenshtein's ratio(), which VLM-R1 uses as a fractional accuracy for free-text answers.
package org.vlmr1.reward;

/** Normalised InDel similarity, as {@code Levenshtein.ratio} (python-Levenshtein >= 0.20, rapidfuzz) computes it. */
public final class Levenshtein {
  private Levenshtein() {}

  /**
   * {@code 1.0 - indel(a, b) / (|a| + |b|)} over code points, with {@code indel = |a| + |b| - 2 * LCS(a, b)}; 1.0 for
   * two empty strings. Computed in that order, as rapidfuzz's NormalizedMetricBase does ({@code norm_dist = dist /
   * maximum; norm_sim = 1.0 - norm_dist}): the algebraically equal {@code 2 * LCS / (|a| + |b|)} differs in the last
   * bit for about one pair of lengths in five (ratio("ab", "a") is 0.6666666666666667 in Python, 2/3 rounds to
   * ...666).
   *
   * <p>Example: ratio("kitten", "sitting") = 1 - 5/13 = 0.615385.
   */
  public static double ratio(String a, String b) {
    int[] x = a.codePoints().toArray();
    int[] y = b.codePoints().toArray();
    int total = x.length + y.length;
    if (total == 0) {
      return 1.0;
    }
    int indel = total - 2 * lcs(x, y);
    return 1.0 - (double) indel / total;
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
