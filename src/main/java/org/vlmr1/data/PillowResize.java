// Pillow's Image.resize with BICUBIC on 8-bit images (libImaging/Resample.c), reproduced bit for bit: separable
// passes (horizontal first, each only when that side changes), Keys cubic a = -0.5 widened by the scale when
// downscaling, coefficients in double normalised per output pixel, then 22-bit fixed point with a uint8 intermediate.
// ARCHITECTURES.md A3 step 3. This is the Java reference (and oracle) of the native preprocessing kernel.
package org.vlmr1.data;

import org.vlmr1.kernels.ImageKernels;

/** Bicubic (and Lanczos) resampling exactly as Pillow 9-11 computes it for 8-bit RGB. */
public final class PillowResize {
  private PillowResize() {}

  private static final int PRECISION_BITS = 32 - 8 - 2;

  /** Pillow's filters: the kernel and its support. */
  public enum Filter {
    BICUBIC(2.0), LANCZOS(3.0);

    final double support;

    Filter(double support) {
      this.support = support;
    }

    double apply(double x) {
      return this == BICUBIC ? bicubic(x) : lanczos(x);
    }
  }

  private static double sinc(double x) {
    if (x == 0.0) {
      return 1.0;
    }
    x = x * Math.PI;
    return Math.sin(x) / x;
  }

  /** Pillow's lanczos_filter (a = 3). */
  static double lanczos(double x) {
    if (-3.0 <= x && x < 3.0) {
      return sinc(x) * sinc(x / 3);
    }
    return 0.0;
  }

  /** Keys cubic convolution, a = -0.5 (Pillow's bicubic_filter). */
  static double bicubic(double x) {
    final double a = -0.5;
    if (x < 0.0) {
      x = -x;
    }
    if (x < 1.0) {
      return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    }
    if (x < 2.0) {
      return (((x - 5) * x + 8) * x - 4) * a;
    }
    return 0.0;
  }

  /** Per-output-pixel bounds {xmin, count} and fixed-point weights of one axis (precompute_coeffs + normalise). */
  record Coeffs(int[] bounds, int[] k, int ksize) {}

  static Coeffs coeffs(int inSize, int outSize, Filter filter) {
    double scale = (double) ((float) inSize - 0f) / outSize;
    double filterscale = Math.max(scale, 1.0);
    double support = filter.support * filterscale;
    int ksize = (int) Math.ceil(support) * 2 + 1;
    int[] bounds = new int[outSize * 2];
    int[] kk = new int[outSize * ksize];
    double[] k = new double[ksize];
    for (int xx = 0; xx < outSize; xx++) {
      double center = (xx + 0.5) * scale;
      double ss = 1.0 / filterscale;
      int xmin = (int) (center - support + 0.5);
      if (xmin < 0) {
        xmin = 0;
      }
      int xmax = (int) (center + support + 0.5);
      if (xmax > inSize) {
        xmax = inSize;
      }
      xmax -= xmin;
      double ww = 0.0;
      for (int x = 0; x < xmax; x++) {
        double w = filter.apply((x + xmin - center + 0.5) * ss);
        k[x] = w;
        ww += w;
      }
      for (int x = 0; x < ksize; x++) {
        double v = x < xmax ? (ww != 0.0 ? k[x] / ww : k[x]) : 0.0;
        kk[xx * ksize + x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
      }
      bounds[xx * 2] = xmin;
      bounds[xx * 2 + 1] = xmax;
    }
    return new Coeffs(bounds, kk, ksize);
  }

  private static int clip8(int in) {
    if (in >= (1 << PRECISION_BITS << 8)) {
      return 255;
    }
    if (in <= 0) {
      return 0;
    }
    return in >> PRECISION_BITS;
  }

  /**
   * Bicubic on the native kernel when it is loaded, else {@link #resize(RgbImage, int, int)}: the same bytes either
   * way (the kernel's oracle is this class).
   */
  public static RgbImage bicubic(RgbImage in, int outW, int outH) {
    return new RgbImage(outW, outH, ImageKernels.resizeBicubic(in.hwc(), in.width(), in.height(), outW, outH,
        () -> resize(in, outW, outH).hwc()));
  }

  /** Bicubic (what the Qwen processor uses); see {@link #resize(RgbImage, int, int, Filter)}. */
  public static RgbImage resize(RgbImage in, int outW, int outH) {
    return resize(in, outW, outH, Filter.BICUBIC);
  }

  /** The image resized to {@code outW} x {@code outH}; the same size returns an identical copy (as Pillow does). */
  public static RgbImage resize(RgbImage in, int outW, int outH, Filter filter) {
    if (outW < 1 || outH < 1) {
      throw new IllegalArgumentException("cannot resize to " + outW + "x" + outH);
    }
    byte[] src = in.hwc();
    int w = in.width();
    int h = in.height();
    if (outW != w) {
      Coeffs c = coeffs(w, outW, filter);
      byte[] dst = new byte[outW * h * 3];
      for (int y = 0; y < h; y++) {
        for (int xx = 0; xx < outW; xx++) {
          int xmin = c.bounds[xx * 2];
          int xmax = c.bounds[xx * 2 + 1];
          int s0 = 1 << (PRECISION_BITS - 1);
          int s1 = s0;
          int s2 = s0;
          int base = xx * c.ksize;
          for (int x = 0; x < xmax; x++) {
            int o = (y * w + x + xmin) * 3;
            int kv = c.k[base + x];
            s0 += (src[o] & 0xff) * kv;
            s1 += (src[o + 1] & 0xff) * kv;
            s2 += (src[o + 2] & 0xff) * kv;
          }
          int d = (y * outW + xx) * 3;
          dst[d] = (byte) clip8(s0);
          dst[d + 1] = (byte) clip8(s1);
          dst[d + 2] = (byte) clip8(s2);
        }
      }
      src = dst;
      w = outW;
    }
    if (outH != h) {
      Coeffs c = coeffs(h, outH, filter);
      byte[] dst = new byte[w * outH * 3];
      for (int yy = 0; yy < outH; yy++) {
        int ymin = c.bounds[yy * 2];
        int ymax = c.bounds[yy * 2 + 1];
        int base = yy * c.ksize;
        for (int xx = 0; xx < w; xx++) {
          int s0 = 1 << (PRECISION_BITS - 1);
          int s1 = s0;
          int s2 = s0;
          for (int y = 0; y < ymax; y++) {
            int o = ((y + ymin) * w + xx) * 3;
            int kv = c.k[base + y];
            s0 += (src[o] & 0xff) * kv;
            s1 += (src[o + 1] & 0xff) * kv;
            s2 += (src[o + 2] & 0xff) * kv;
          }
          int d = (yy * w + xx) * 3;
          dst[d] = (byte) clip8(s0);
          dst[d + 1] = (byte) clip8(s1);
          dst[d + 2] = (byte) clip8(s2);
        }
      }
      src = dst;
    }
    return new RgbImage(outW, outH, src == in.hwc() ? src.clone() : src);
  }
}
