// The size of the resized image a model sees: the frame whose pixels a family's absolute box coordinates refer to.
package org.vlmr1.util;

/**
 * One image's input frame after a family's preprocessing (Qwen2.5-VL: image_grid_thw's h * 14 by w * 14 pixels, in
 * which it writes absolute box coordinates; the REC reward rescales boxes from this frame to the original image).
 *
 * @param width pixels
 * @param height pixels
 */
public record InputFrame(long width, long height) {
  public InputFrame {
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException("an input frame must be at least 1x1 pixels, got " + width + "x" + height);
    }
  }
}
