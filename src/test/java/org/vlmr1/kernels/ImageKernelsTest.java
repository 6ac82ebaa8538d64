// Native image kernels against their Java reference on fresh random images (seed printed): bit-identical bytes and
// floats, for downscales, upscales and one-axis resizes.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.vlmr1.data.PillowResize;
import org.vlmr1.data.RgbImage;
import org.vlmr1.module.qwen.QwenImageProcessor;

class ImageKernelsTest {

  static RgbImage random(Random rnd, int w, int h) {
    byte[] px = new byte[w * h * 3];
    rnd.nextBytes(px);
    return new RgbImage(w, h, px);
  }

  @Test
  void nativeIsTheBackendWhenBuilt() {
    if (NativeLoadingTest.expectNative()) {
      assertEquals(KernelBackend.NATIVE, ImageKernels.backend());
    }
  }

  @Test
  void resizeMatchesTheReferenceBitForBit() {
    long seed = System.nanoTime();
    System.out.println("resizeMatchesTheReferenceBitForBit: seed " + seed);
    Random rnd = new Random(seed);
    int[][] sizes = {{97, 61, 84, 56}, {300, 200, 112, 84}, {57, 130, 56, 140}, {40, 30, 400, 300},
        {640, 480, 644, 476}, {33, 45, 33, 90}, {123, 77, 61, 77}, {1, 1, 28, 28}};
    for (int[] s : sizes) {
      RgbImage img = random(rnd, s[0], s[1]);
      assertArrayEquals(PillowResize.resize(img, s[2], s[3]).hwc(), PillowResize.bicubic(img, s[2], s[3]).hwc(),
          s[0] + "x" + s[1] + " -> " + s[2] + "x" + s[3]);
    }
  }

  @Test
  void qwenProcessingMatchesTheReferenceBitForBit() {
    long seed = System.nanoTime();
    System.out.println("qwenProcessingMatchesTheReferenceBitForBit: seed " + seed);
    Random rnd = new Random(seed);
    QwenImageProcessor proc = new QwenImageProcessor(3136, 200_000);
    for (int i = 0; i < 6; i++) {
      RgbImage img = random(rnd, 28 + rnd.nextInt(600), 28 + rnd.nextInt(400));
      QwenImageProcessor.Processed a = proc.process(img);
      QwenImageProcessor.Processed b = proc.processReference(img);
      assertEquals(b.grid(), a.grid());
      assertArrayEquals(b.pixelValues(), a.pixelValues(), img.width() + "x" + img.height());
    }
  }
}
