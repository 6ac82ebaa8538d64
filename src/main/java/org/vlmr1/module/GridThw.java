// The (temporal, height, width) patch grid of one image after a family's preprocessing: Qwen's image_grid_thw row.
package org.vlmr1.module;

/**
 * One image's patch grid, as Qwen's processor returns it in {@code image_grid_thw}: {@code h * 14} by {@code w * 14}
 * pixels is the resized input frame the model sees (and in which Qwen2.5-VL writes box coordinates).
 *
 * @param t temporal patches (1 for an image repeated to 2 frames, Qwen's temporal patch size)
 * @param h patch rows (14 px each)
 * @param w patch columns (14 px each)
 */
public record GridThw(long t, long h, long w) {
  public GridThw {
    if (t < 1 || h < 1 || w < 1) {
      throw new IllegalArgumentException("image_grid_thw entries must be >= 1, got [" + t + ", " + h + ", " + w + "]");
    }
  }

  /** Height of the resized input frame in pixels (patch size 14). */
  public long inputHeight() {
    return h * 14;
  }

  /** Width of the resized input frame in pixels (patch size 14). */
  public long inputWidth() {
    return w * 14;
  }
}
