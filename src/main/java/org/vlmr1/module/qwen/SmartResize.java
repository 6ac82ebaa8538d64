// Qwen2-VL / Qwen2.5-VL smart_resize (transformers 4.50 image_processing_qwen2_vl.py), ARCHITECTURES.md A3 step 2.
package org.vlmr1.module.qwen;

/**
 * The target size of an image for Qwen's processor: both sides multiples of {@code factor} (28 = patch 14 x merge 2),
 * the area within [minPixels, maxPixels] when possible, the aspect ratio kept. Evaluated in IEEE doubles in the order
 * transformers writes it, with Python's round (half to even), floor and ceil, so that the edge cases agree (including
 * the ones where the floor path yields 0 for a very thin image, as transformers 4.50 does).
 */
public final class SmartResize {
  private SmartResize() {}

  /** {height, width} after resizing. */
  public record Size(int height, int width) {}

  /**
   * @throws IllegalArgumentException when a side is below {@code factor} or the aspect ratio exceeds 200, with
   *     transformers' message
   */
  public static Size compute(int height, int width, int factor, long minPixels, long maxPixels) {
    if (height < factor || width < factor) {
      throw new IllegalArgumentException("height:" + height + " or width:" + width + " must be larger than factor:"
          + factor);
    }
    double aspect = (double) Math.max(height, width) / Math.min(height, width);
    if (aspect > 200) {
      throw new IllegalArgumentException("absolute aspect ratio must be smaller than 200, got " + aspect);
    }
    long hBar = (long) Math.rint((double) height / factor) * factor;
    long wBar = (long) Math.rint((double) width / factor) * factor;
    if (hBar * wBar > maxPixels) {
      double beta = Math.sqrt((double) ((long) height * width) / maxPixels);
      hBar = (long) Math.floor(height / beta / factor) * factor;
      wBar = (long) Math.floor(width / beta / factor) * factor;
    } else if (hBar * wBar < minPixels) {
      double beta = Math.sqrt((double) minPixels / ((long) height * width));
      hBar = (long) Math.ceil(height * beta / factor) * factor;
      wBar = (long) Math.ceil(width * beta / factor) * factor;
    }
    return new Size(Math.toIntExact(hBar), Math.toIntExact(wBar));
  }
}
