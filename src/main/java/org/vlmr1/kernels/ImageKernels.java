// Image preprocessing on our native kernels, with the Java reference (PillowResize, QwenImageProcessor's
// normalise/patchify) as oracle and fallback. Same backend switch as GrpoKernels (-Dvlmr1.kernels).
package org.vlmr1.kernels;

import java.util.Locale;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.vlmr1.data.PillowResize;
import org.vlmr1.data.RgbImage;

/** Native image kernels: Pillow-exact bicubic resize and Qwen patch flattening. Thread-safe. */
public final class ImageKernels {
  private static final System.Logger LOG = System.getLogger(ImageKernels.class.getName());
  private static volatile KernelBackend backend;

  private ImageKernels() {}

  /** NATIVE when the native library loads (decided once per process), else COMPOSITE (the Java reference). */
  public static KernelBackend backend() {
    if (backend == null) {
      synchronized (ImageKernels.class) {
        if (backend == null) {
          String mode = System.getProperty("vlmr1.kernels", "auto").trim().toLowerCase(Locale.ROOT);
          if (mode.equals("composite")) {
            backend = KernelBackend.COMPOSITE;
          } else {
            try {
              Class.forName("org.vlmr1.kernels.ImageNative", true, ImageKernels.class.getClassLoader());
              backend = KernelBackend.NATIVE;
            } catch (Throwable t) {
              Throwable cause = t.getCause() != null ? t.getCause() : t;
              if (mode.equals("native")) {
                throw new IllegalStateException("the native image kernels cannot load: " + cause, cause);
              }
              LOG.log(System.Logger.Level.WARNING, "vlmr1 native image kernels unavailable (" + cause
                  + "); preprocessing runs the Java reference");
              backend = KernelBackend.COMPOSITE;
            }
          }
        }
      }
    }
    return backend;
  }

  /** Pillow's bicubic resize of an RGB image, bit for bit (see {@link PillowResize}). */
  public static RgbImage resizeBicubic(RgbImage in, int outW, int outH) {
    if (outW < 1 || outH < 1) {
      throw new IllegalArgumentException("cannot resize to " + outW + "x" + outH);
    }
    if (backend() != KernelBackend.NATIVE) {
      return PillowResize.resize(in, outW, outH);
    }
    byte[] out = new byte[outW * outH * 3];
    try (BytePointer src = new BytePointer(in.hwc()); BytePointer dst = new BytePointer((long) out.length)) {
      ImageNative.pillow_resize_bicubic(src, in.width(), in.height(), dst, outW, outH);
      dst.get(out);
    }
    return new RgbImage(outW, outH, out);
  }

  /**
   * Qwen's normalised patches of a resized image (sides multiples of 28): rows in 2x2 merge-block order, 1176 values
   * each. {@code reference} computes the same rows in Java.
   */
  public static float[] qwenPatchify(RgbImage img, float[] mean, float[] std, Reference reference) {
    if (img.width() % 28 != 0 || img.height() % 28 != 0) {
      throw new IllegalArgumentException("Qwen patches need sides that are multiples of 28, got " + img.width() + "x"
          + img.height());
    }
    if (backend() != KernelBackend.NATIVE) {
      return reference.patchify(img);
    }
    int rows = (img.height() / 14) * (img.width() / 14);
    float[] out = new float[rows * 1176];
    try (BytePointer src = new BytePointer(img.hwc()); FloatPointer m = new FloatPointer(mean);
        FloatPointer s = new FloatPointer(std); FloatPointer dst = new FloatPointer((long) out.length)) {
      ImageNative.qwen_patchify(src, img.height(), img.width(), m, s, dst);
      dst.get(out);
    }
    return out;
  }

  /**
   * InternVL's normalised tiles, channels first, of an image already resized to (cols * size, rows * size): tiles
   * row-major. {@code reference} computes the same values in Java.
   */
  public static float[] internvlTiles(RgbImage img, int cols, int rows, int size, float[] mean, float[] std,
      Reference reference) {
    if (img.width() != cols * size || img.height() != rows * size) {
      throw new IllegalArgumentException("a " + cols + "x" + rows + " grid of " + size + " px tiles needs a "
          + cols * size + "x" + rows * size + " image, got " + img.width() + "x" + img.height());
    }
    if (backend() != KernelBackend.NATIVE) {
      return reference.patchify(img);
    }
    float[] out = new float[rows * cols * 3 * size * size];
    try (BytePointer src = new BytePointer(img.hwc()); FloatPointer m = new FloatPointer(mean);
        FloatPointer s = new FloatPointer(std); FloatPointer dst = new FloatPointer((long) out.length)) {
      ImageNative.internvl_tiles(src, cols, rows, size, m, s, dst);
      dst.get(out);
    }
    return out;
  }

  /** The Java reference of a patchify, for the fallback. */
  @FunctionalInterface
  public interface Reference {
    float[] patchify(RgbImage img);
  }
}
