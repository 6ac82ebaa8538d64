// The IoU convention of VLM-R1's REC rewards and eval scripts (VLM-R1-SPEC.md 3.1): inclusive-pixel intersection,
// exclusive-extent areas.
package org.vlmr1.reward;

/** Box IoU as VLM-R1 computes it. Boxes are {@code [x1, y1, x2, y2]}. */
public final class BoxIou {
  private BoxIou() {}

  /**
   * {@code inter = (min(a2-1,b2-1) - max(a0,b0) + 1) * (min(a3-1,b3-1) - max(a1,b1) + 1)} when the inclusive corners
   * are strictly ordered, else 0; {@code union = area(a) + area(b) - inter}. Identical boxes give 1.
   *
   * <p>Example: [0,0,10,10] vs [5,5,15,15]: inter = 5*5 = 25, union = 100 + 100 - 25, IoU = 0.142857.
   *
   * @return the IoU, or NaN when the union is 0 (VLM-R1 raises ZeroDivisionError there; its rewards then give 0)
   */
  public static double iou(double[] a, double[] b) {
    double ix1 = Math.max(a[0], b[0]);
    double iy1 = Math.max(a[1], b[1]);
    double ix2 = Math.min(a[2] - 1, b[2] - 1);
    double iy2 = Math.min(a[3] - 1, b[3] - 1);
    double inter = ix1 < ix2 && iy1 < iy2 ? (ix2 - ix1 + 1) * (iy2 - iy1 + 1) : 0;
    double union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return union == 0 ? Double.NaN : inter / union;
  }

  /** {@link #iou} with a zero union (and any non-finite result) counted as 0, as the rewards catch it. */
  public static double iouOrZero(double[] a, double[] b) {
    double v = iou(a, b);
    return Double.isFinite(v) ? v : 0;
  }
}
