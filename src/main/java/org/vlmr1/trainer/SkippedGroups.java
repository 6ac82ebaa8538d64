// Prompts skipped mid-run (--on_bad_sample skip: an image that failed to decode): the whole group of a prompt with a
// failed row is skipped, on every rank alike, since the flags come through the reward gather. Skipped groups get
// advantage 0 and leave the other groups' statistics as if they were not in the round (group and batch scaling).
package org.vlmr1.trainer;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.GrpoKernels;
import org.vlmr1.kernels.ScaleRewards;

/** Group-level skip flags over a round's global order and the statistics that leave them out. */
final class SkippedGroups {
  private SkippedGroups() {}

  /** Every row of a group of {@code g} with any flag set (flags are 0 or 1 per row, summed over ranks). */
  static boolean[] expand(double[] failed, int g) {
    boolean[] out = new boolean[failed.length];
    for (int k = 0; k < failed.length; k += g) {
      boolean any = false;
      for (int i = k; i < k + g; i++) {
        any |= failed[i] != 0;
      }
      for (int i = k; i < k + g; i++) {
        out[i] = any;
      }
    }
    return out;
  }

  /** Skipped groups (prompts). */
  static int prompts(boolean[] skipped, int g) {
    int n = 0;
    for (int k = 0; k < skipped.length; k += g) {
      n += skipped[k] ? 1 : 0;
    }
    return n;
  }

  /** The kept rows' rewards, in order. */
  static float[] kept(double[] totals, boolean[] skipped) {
    int n = 0;
    for (boolean s : skipped) {
      n += s ? 0 : 1;
    }
    float[] out = new float[n];
    for (int i = 0, k = 0; i < totals.length; i++) {
      if (!skipped[i]) {
        out[k++] = (float) totals[i];
      }
    }
    return out;
  }

  /** Group advantages over the kept groups only; 0 at skipped rows. One element per row of {@code totals}. */
  static float[] advantages(double[] totals, boolean[] skipped, int g, ScaleRewards scale) {
    float[] r = kept(totals, skipped);
    float[] out = new float[totals.length];
    if (r.length == 0) {
      return out;
    }
    float[] a = new float[r.length];
    try (PointerScope s = new PointerScope()) {
      Tensor t = GrpoKernels.groupAdvantages(torch.tensor(r), g, scale).contiguous();
      t.data_ptr_float().get(a);
    }
    for (int i = 0, k = 0; i < out.length; i++) {
      if (!skipped[i]) {
        out[i] = a[k++];
      }
    }
    return out;
  }

  /** The mean of {@code v} over the rows not skipped (0 when every row is). */
  static double mean(double[] v, boolean[] skipped) {
    double s = 0;
    int n = 0;
    for (int i = 0; i < v.length; i++) {
      if (!skipped[i]) {
        s += v[i];
        n++;
      }
    }
    return n == 0 ? 0 : s / n;
  }

  /** Rows not skipped among {@code [from, to)}. */
  static int keptRows(boolean[] skipped, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      n += skipped[i] ? 0 : 1;
    }
    return n;
  }
}
