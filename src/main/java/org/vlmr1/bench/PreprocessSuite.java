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

  /** A row over seeded random images: each run preprocesses all of them, natively or with the Java reference. */
  abstract static class ImagesRow implements Measured {
    final List<RgbImage> images = new ArrayList<>();
    final boolean nativeImpl;

    ImagesRow(int n, int w, int h, boolean nativeImpl, long seed) {
      this.nativeImpl = nativeImpl;
      if (nativeImpl && ImageKernels.backend() != KernelBackend.NATIVE) {
        throw new IllegalStateException("native rows need the native image kernels");
      }
      Random rnd = new Random(seed);
      for (int i = 0; i < n; i++) {
        byte[] px = new byte[w * h * 3];
        rnd.nextBytes(px);
        images.add(new RgbImage(w, h, px));
      }
    }

    abstract void process(RgbImage im);

    abstract void processReference(RgbImage im);

    @Override
    public void run() {
      for (RgbImage im : images) {
        if (nativeImpl) {
          process(im);
        } else {
          processReference(im);
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

  /** InternVL tiles of random images: the module's processor (448 px tiles, max_anyres_num 12). */
  static final class InternVlRow extends ImagesRow {
    final org.vlmr1.module.internvl.InternVlImageProcessor proc =
        new org.vlmr1.module.internvl.InternVlImageProcessor(448, 1, 12, true);

    InternVlRow(int n, int w, int h, boolean nativeImpl) {
      super(n, w, h, nativeImpl, 12);
    }

    @Override
    void process(RgbImage im) {
      proc.pixelValues(im);
    }

    @Override
    void processReference(RgbImage im) {
      proc.pixelValuesReference(im);
    }
  }

  /** Qwen's processor with VLM-R1's pixel limits. */
  static final class Row extends ImagesRow {
    final QwenImageProcessor proc = new QwenImageProcessor(QwenImageProcessor.DEFAULT_MIN_PIXELS,
        QwenImageProcessor.DEFAULT_MAX_PIXELS);

    Row(int n, int w, int h, boolean nativeImpl) {
      super(n, w, h, nativeImpl, 11);
    }

    @Override
    void process(RgbImage im) {
      proc.process(im);
    }

    @Override
    void processReference(RgbImage im) {
      proc.processReference(im);
    }
  }
}
