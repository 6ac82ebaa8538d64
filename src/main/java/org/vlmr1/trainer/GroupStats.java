// Reward statistics for the metrics: TRL's reward_std (the mean over groups of the unbiased
// within-group standard deviation).
package org.vlmr1.trainer;

/** Small statistics over reward arrays. */
final class GroupStats {
  private GroupStats() {}

  /** The mean over consecutive groups of {@code g} of the unbiased group std (TRL's reward_std). */
  static double groupStdMean(float[] r, int g) {
    double sum = 0;
    int groups = r.length / g;
    for (int k = 0; k < groups; k++) {
      double m = 0;
      for (int i = 0; i < g; i++) {
        m += r[k * g + i];
      }
      m /= g;
      double ss = 0;
      for (int i = 0; i < g; i++) {
        ss += (r[k * g + i] - m) * (r[k * g + i] - m);
      }
      sum += Math.sqrt(ss / (g - 1));
    }
    return groups == 0 ? 0 : sum / groups;
  }
}
