// Image preprocessing on our native kernels over raw 8-bit RGB pixels (height x width x 3), with the caller's Java
// reference (data.PillowResize, the processors' normalise/patchify) as oracle and fallback. Same backend switch as
// GrpoKernels (-Dvlmr1.kernels).
package org.vlmr1.kernels;

import java.util.function.Supplier;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/** Native image kernels: Pillow-exact bicubic resize and Qwen patch flattening. Thread-safe. */
public final class ImageKernels {
  private static volatile KernelBackend backend;

  private ImageKernels() {}

  /** NATIVE when the native library loads (decided once per process), else COMPOSITE (the Java reference). */
  public static KernelBackend backend() {
    if (backend == null) {
      synchronized (ImageKernels.class) {
        if (backend == null) {
          backend = NativeLibraries.choose("org.vlmr1.kernels.ImageNative", "native image kernels",
              "preprocessing runs the Java reference").backend();
        }
      }
    }
    return backend;
  }

  /**
   * Pillow's bicubic resize of {@code hwc} ({@code height x width x 3} bytes), bit for bit; {@code reference}
   * computes the same bytes in Java when the native library is not loaded.
   */
  public static byte[] resizeBicubic(byte[] hwc, int width, int height, int outW, int outH,
      Supplier<byte[]> reference) {
    requirePixels(hwc, width, height);
    if (outW < 1 || outH < 1) {
      throw new IllegalArgumentException("cannot resize to " + outW + "x" + outH);
    }
    if (backend() != KernelBackend.NATIVE) {
      return reference.get();
    }
    byte[] out = new byte[outW * outH * 3];
    try (BytePointer src = new BytePointer(hwc); BytePointer dst = new BytePointer((long) out.length)) {
      ImageNative.pillow_resize_bicubic(src, width, height, dst, outW, outH);
      dst.get(out);
    }
    return out;
  }

  /**
   * Qwen's normalised patches of a resized image (sides multiples of 28): rows in 2x2 merge-block order, 1176 values
   * each. {@code reference} computes the same rows in Java.
   */
  public static float[] qwenPatchify(byte[] hwc, int width, int height, float[] mean, float[] std,
      Supplier<float[]> reference) {
    requirePixels(hwc, width, height);
    if (width % 28 != 0 || height % 28 != 0) {
      throw new IllegalArgumentException("Qwen patches need sides that are multiples of 28, got " + width + "x"
          + height);
    }
    if (backend() != KernelBackend.NATIVE) {
      return reference.get();
    }
    int rows = (height / 14) * (width / 14);
    float[] out = new float[rows * 1176];
    try (BytePointer src = new BytePointer(hwc); FloatPointer m = new FloatPointer(mean);
        FloatPointer s = new FloatPointer(std); FloatPointer dst = new FloatPointer((long) out.length)) {
      ImageNative.qwen_patchify(src, height, width, m, s, dst);
      dst.get(out);
    }
    return out;
  }

  /**
   * InternVL's normalised tiles, channels first, of pixels already resized to (cols * size, rows * size): tiles
   * row-major. {@code reference} computes the same values in Java.
   */
  public static float[] internvlTiles(byte[] hwc, int width, int height, int cols, int rows, int size, float[] mean,
      float[] std, Supplier<float[]> reference) {
    requirePixels(hwc, width, height);
    if (width != cols * size || height != rows * size) {
      throw new IllegalArgumentException("a " + cols + "x" + rows + " grid of " + size + " px tiles needs a "
          + cols * size + "x" + rows * size + " image, got " + width + "x" + height);
    }
    if (backend() != KernelBackend.NATIVE) {
      return reference.get();
    }
    float[] out = new float[rows * cols * 3 * size * size];
    try (BytePointer src = new BytePointer(hwc); FloatPointer m = new FloatPointer(mean);
        FloatPointer s = new FloatPointer(std); FloatPointer dst = new FloatPointer((long) out.length)) {
      ImageNative.internvl_tiles(src, cols, rows, size, m, s, dst);
      dst.get(out);
    }
    return out;
  }

  private static void requirePixels(byte[] hwc, int width, int height) {
    if (width < 1 || height < 1 || hwc.length != (long) width * height * 3) {
      throw new IllegalArgumentException("RGB pixels of " + width + "x" + height + " need " + (long) width * height * 3
          + " bytes, got " + hwc.length);
    }
  }
}
