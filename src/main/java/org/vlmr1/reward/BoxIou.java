// The IoU convention of VLM-R1's REC rewards and eval scripts (VLM-R1-SPEC.md 3.1): inclusive-pixel intersection,
// exclusive-extent areas.
package org.vlmr1.reward;

import java.math.BigInteger;

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

  /**
   * {@link #iou} of boxes whose eight coordinates are all Python ints (JSON integers, regex digits): Python then
   * computes inter and union exactly (its ints are unbounded) and rounds once each, in {@code float(inter) / union}.
   * The double arithmetic of {@link #iou} rounds every product once coordinates pass 2^26, which moved the last bits
   * of most IoUs of boxes with coordinates around 1e8.
   *
   * @return the IoU, or NaN where Python raises (zero union: ZeroDivisionError; a union beyond the double range:
   *     OverflowError)
   */
  public static double iouOfInts(BigInteger[] a, BigInteger[] b) {
    BigInteger ix1 = a[0].max(b[0]);
    BigInteger iy1 = a[1].max(b[1]);
    BigInteger ix2 = a[2].subtract(BigInteger.ONE).min(b[2].subtract(BigInteger.ONE));
    BigInteger iy2 = a[3].subtract(BigInteger.ONE).min(b[3].subtract(BigInteger.ONE));
    BigInteger inter = ix1.compareTo(ix2) < 0 && iy1.compareTo(iy2) < 0
        ? ix2.subtract(ix1).add(BigInteger.ONE).multiply(iy2.subtract(iy1).add(BigInteger.ONE))
        : BigInteger.ZERO;
    BigInteger union = a[2].subtract(a[0]).multiply(a[3].subtract(a[1]))
        .add(b[2].subtract(b[0]).multiply(b[3].subtract(b[1]))).subtract(inter);
    double u = union.doubleValue(); // PyLong_AsDouble: correctly rounded, OverflowError past the double range
    double i = inter.doubleValue();
    if (union.signum() == 0 || Double.isInfinite(u) || Double.isInfinite(i)) {
      return Double.NaN;
    }
    return i / u;
  }

  /** {@link #iouOfInts} with Python's failures counted as 0, as the rewards catch them. */
  public static double iouOfIntsOrZero(BigInteger[] a, BigInteger[] b) {
    double v = iouOfInts(a, b);
    return Double.isNaN(v) ? 0 : v;
  }
}
