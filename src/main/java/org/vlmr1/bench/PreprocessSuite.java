// bin/vlmr1 bench preprocess: Qwen image preprocessing (smart_resize, Pillow-exact bicubic, normalise, patchify) and
// InternVL's (dynamic tiling of 448 px tiles, max_anyres_num 12, Pillow-exact bicubic, ToTensor + Normalize), images
// per second, our native kernels vs their Java reference, on seeded random 640x480 and 1280x1024 images with
// VLM-R1's settings.
package org.vlmr1.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.vlmr1.data.RgbImage;
import org.vlmr1.kernels.ImageKernels;
import org.vlmr1.kernels.KernelBackend;
import org.vlmr1.module.qwen.QwenImageProcessor;

/** The preprocess suite. */
final class PreprocessSuite implements BenchSuite {
  @Override
  public String name() {
    return "preprocess";
  }

  @Override
  public List<BenchCase> cases(BenchOptions o) {
    int n = (int) (o.rows() > 0 ? o.rows() : o.quick() ? 8 : 32);
    List<BenchCase> cases = new ArrayList<>();
    int[][] sizes = {{640, 480}, {1280, 1024}};
    for (int[] s : sizes) {
      for (String impl : new String[] {"native", "reference"}) {
        if (o.wants("qwenPreprocess", "u8")) {
          cases.add(new BenchCase("qwen-" + s[0] + "x" + s[1] + "-" + impl, "qwenPreprocess", impl,
              "N=" + n + " image=" + s[0] + "x" + s[1], "u8", () -> new Row(n, s[0], s[1], impl.equals("native"))));
        }
        if (o.wants("internvlPreprocess", "u8")) {
          cases.add(new BenchCase("internvl-" + s[0] + "x" + s[1] + "-" + impl, "internvlPreprocess", impl,
              "N=" + n + " image=" + s[0] + "x" + s[1] + " tile=448 max_num=12", "u8",
              () -> new InternVlRow(n, s[0], s[1], impl.equals("native"))));
        }
      }
    }
    return cases;
  }

  /** InternVL tiles of random images: the module's processor, native or the Java reference. */
  static final class InternVlRow implements Measured {
    final List<RgbImage> images = new ArrayList<>();
    final org.vlmr1.module.internvl.InternVlImageProcessor proc =
        new org.vlmr1.module.internvl.InternVlImageProcessor(448, 1, 12, true);
    final boolean nativeImpl;

    InternVlRow(int n, int w, int h, boolean nativeImpl) {
      this.nativeImpl = nativeImpl;
      if (nativeImpl && ImageKernels.backend() != KernelBackend.NATIVE) {
        throw new IllegalStateException("native rows need the native image kernels");
      }
      Random rnd = new Random(12);
      for (int i = 0; i < n; i++) {
        byte[] px = new byte[w * h * 3];
        rnd.nextBytes(px);
        images.add(new RgbImage(w, h, px));
      }
    }

    @Override
    public void run() {
      for (RgbImage im : images) {
        if (nativeImpl) {
          proc.pixelValues(im);
        } else {
          proc.pixelValuesReference(im);
        }
      }
    }

    @Override
    public double workPerRun() {
      return images.size();
    }

    @Override
    public String unit() {
      return "images/s";
    }

    @Override
    public void close() {
      images.clear();
    }
  }

  static final class Row implements Measured {
    final List<RgbImage> images = new ArrayList<>();
    final QwenImageProcessor proc = new QwenImageProcessor(QwenImageProcessor.DEFAULT_MIN_PIXELS,
        QwenImageProcessor.DEFAULT_MAX_PIXELS);
    final boolean nativeImpl;

    Row(int n, int w, int h, boolean nativeImpl) {
      this.nativeImpl = nativeImpl;
      if (nativeImpl && ImageKernels.backend() != KernelBackend.NATIVE) {
        throw new IllegalStateException("native rows need the native image kernels");
      }
      Random rnd = new Random(11);
      for (int i = 0; i < n; i++) {
        byte[] px = new byte[w * h * 3];
        rnd.nextBytes(px);
        images.add(new RgbImage(w, h, px));
      }
    }

    @Override
    public void run() {
      for (RgbImage im : images) {
        if (nativeImpl) {
          proc.process(im);
        } else {
          proc.processReference(im);
        }
      }
    }

    @Override
    public double workPerRun() {
      return images.size();
    }

    @Override
    public String unit() {
      return "images/s";
    }

    @Override
    public void close() {
      images.clear();
    }
  }
}
