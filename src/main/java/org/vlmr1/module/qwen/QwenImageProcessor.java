// Qwen2-VL / Qwen2.5-VL image preprocessing (transformers 4.50 Qwen2VLImageProcessor, slow PIL path), ARCHITECTURES.md
// A3: smart_resize, Pillow bicubic, rescale 1/255, CLIP normalisation, two temporal frames, 2x2 merge-block patches.
package org.vlmr1.module.qwen;

import java.util.ArrayList;
import java.util.List;
import org.vlmr1.data.PillowResize;
import org.vlmr1.data.RgbImage;
import org.vlmr1.kernels.ImageKernels;

/** Turns RGB images into Qwen's {@code pixel_values} rows and {@code image_grid_thw}. Thread-safe. */
public final class QwenImageProcessor {
  /** VLM-R1's defaults (grpo_jsonl.py), also qwen-vl-utils' MIN_PIXELS / MAX_PIXELS. */
  public static final long DEFAULT_MIN_PIXELS = 3136;
  public static final long DEFAULT_MAX_PIXELS = 12845056;
  static final int PATCH = 14;
  static final int MERGE = 2;
  static final int TEMPORAL = 2;
  static final int FACTOR = PATCH * MERGE;
  /** Values per pixel_values row: 3 channels x 2 frames x 14 x 14. */
  public static final int ROW = 3 * TEMPORAL * PATCH * PATCH;
  static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
  static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

  private final long minPixels;
  private final long maxPixels;

  public QwenImageProcessor(long minPixels, long maxPixels) {
    if (minPixels < 1 || maxPixels < minPixels) {
      throw new IllegalArgumentException("need 1 <= min_pixels <= max_pixels, got " + minPixels + ", " + maxPixels);
    }
    this.minPixels = minPixels;
    this.maxPixels = maxPixels;
  }

  public long minPixels() {
    return minPixels;
  }

  public long maxPixels() {
    return maxPixels;
  }

  /** One image's rows: {@code grid.t * grid.h * grid.w} rows of {@link #ROW} floats. */
  public record Processed(float[] pixelValues, GridThw grid) {
    /** The number of {@code <|image_pad|>} tokens this image becomes (one per 2x2 merged patch group). */
    public long imageTokens() {
      return grid.t() * grid.h() * grid.w() / (MERGE * MERGE);
    }
  }

  /** The target size of an image (smart_resize with this processor's pixel limits). */
  public SmartResize.Size targetSize(RgbImage image) {
    SmartResize.Size s = SmartResize.compute(image.height(), image.width(), FACTOR, minPixels, maxPixels);
    if (s.height() == 0 || s.width() == 0) {
      throw new IllegalArgumentException("image of " + image.width() + "x" + image.height() + " resizes to "
          + s.width() + "x" + s.height() + " under max_pixels " + maxPixels + ": too thin for these limits");
    }
    return s;
  }

  /**
   * VLM-R1's fix for images under 28 px on a side (its trainer does it before the processor): the short side is
   * scaled to 28 with the aspect kept, Lanczos. Close to Pillow's, not bit-exact (Pillow's LANCZOS on uint8 matches;
   * the int() of the long side follows VLM-R1).
   */
  static RgbImage upscaleTiny(RgbImage image) {
    int w = image.width();
    int h = image.height();
    if (w >= FACTOR && h >= FACTOR) {
      return image;
    }
    int nw;
    int nh;
    if (w < h) {
      nw = FACTOR;
      nh = (int) (h * ((double) FACTOR / w));
    } else {
      nh = FACTOR;
      nw = (int) (w * ((double) FACTOR / h));
    }
    return PillowResize.resize(image, nw, nh, PillowResize.Filter.LANCZOS);
  }

  /** One image through the native kernels (or, without them, the Java reference below). */
  public Processed process(RgbImage original) {
    RgbImage image = upscaleTiny(original);
    SmartResize.Size s = targetSize(image);
    RgbImage resized = s.width() == image.width() && s.height() == image.height() ? image
        : PillowResize.bicubic(image, s.width(), s.height());
    return new Processed(ImageKernels.qwenPatchify(resized.hwc(), resized.width(), resized.height(), MEAN, STD,
        () -> referencePatches(resized)),
        new GridThw(1, s.height() / PATCH, s.width() / PATCH));
  }

  /** The Java reference of {@link #process}: the native kernels' oracle. */
  public Processed processReference(RgbImage original) {
    RgbImage image = upscaleTiny(original);
    SmartResize.Size s = targetSize(image);
    RgbImage resized = PillowResize.resize(image, s.width(), s.height());
    return new Processed(referencePatches(resized), new GridThw(1, s.height() / PATCH, s.width() / PATCH));
  }

  static float[] referencePatches(RgbImage resized) {
    return patchify(normalise(resized), resized.height(), resized.width());
  }

  /** Images of one batch in prompt order. */
  public List<Processed> process(List<RgbImage> images) {
    List<Processed> out = new ArrayList<>(images.size());
    for (RgbImage im : images) {
      out.add(process(im));
    }
    return out;
  }

  /** (3, H, W) float32: float32(double(u8) / 255) then (x - mean) / std in float32, as transformers does. */
  static float[] normalise(RgbImage im) {
    int hw = im.width() * im.height();
    float[] chw = new float[3 * hw];
    byte[] src = im.hwc();
    final double scale = 1.0 / 255;
    for (int p = 0; p < hw; p++) {
      for (int c = 0; c < 3; c++) {
        float x = (float) ((src[p * 3 + c] & 0xff) * scale);
        chw[c * hw + p] = (x - MEAN[c]) / STD[c];
      }
    }
    return chw;
  }

  /**
   * Rows in 2x2 merge-block order (block row, block col, then the 4 patches of the block row-major); columns
   * (channel, frame, y, x), the image repeated in both frames.
   */
  static float[] patchify(float[] chw, int height, int width) {
    int gh = height / PATCH;
    int gw = width / PATCH;
    int hw = height * width;
    float[] out = new float[gh * gw * ROW];
    int row = 0;
    for (int bh = 0; bh < gh / MERGE; bh++) {
      for (int bw = 0; bw < gw / MERGE; bw++) {
        for (int mh = 0; mh < MERGE; mh++) {
          for (int mw = 0; mw < MERGE; mw++) {
            int pr = bh * MERGE + mh;
            int pc = bw * MERGE + mw;
            int o = row * ROW;
            for (int c = 0; c < 3; c++) {
              for (int tp = 0; tp < TEMPORAL; tp++) {
                for (int py = 0; py < PATCH; py++) {
                  int srcRow = c * hw + (pr * PATCH + py) * width + pc * PATCH;
                  System.arraycopy(chw, srcRow, out, o, PATCH);
                  o += PATCH;
                }
              }
            }
            row++;
          }
        }
      }
    }
    return out;
  }
}
