// Qwen preprocessing against the Hugging Face golden case_a (transformers 4.50, Pillow 9.4): the Pillow bicubic
// resize bit for bit, pixel_values within 1e-6, image_grid_thw equal.
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vlmr1.data.PillowResize;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.SafeTensorsFile;

class QwenImageProcessorTest {
  static final String[] IMAGES = {"image_0_97x61.png", "image_1_300x200.png", "image_2_57x130.png"};

  static Path caseA() throws URISyntaxException {
    return Path.of(QwenImageProcessorTest.class.getResource("/golden/qwen2_5_vl/case_a/README.md").toURI())
        .getParent();
  }

  @Test
  void pillowBicubicIsBitExact() throws Exception {
    SafeTensorsFile golden = SafeTensorsFile.open(caseA().resolve("golden.safetensors"));
    QwenImageProcessor proc = new QwenImageProcessor(3136, 12544);
    for (int i = 0; i < IMAGES.length; i++) {
      RgbImage img = RgbImage.read(caseA().resolve(IMAGES[i]));
      SmartResize.Size s = proc.targetSize(img);
      long[] shape = golden.entry("image" + i + "_resized_u8_hwc").shape();
      assertEquals(shape[0], s.height());
      assertEquals(shape[1], s.width());
      byte[] want = golden.u8("image" + i + "_resized_u8_hwc");
      byte[] got = PillowResize.resize(img, s.width(), s.height()).hwc();
      int diffs = 0;
      for (int k = 0; k < want.length; k++) {
        diffs += want[k] != got[k] ? 1 : 0;
      }
      assertEquals(0, diffs, IMAGES[i] + ": bytes differing from Pillow");
    }
  }

  @Test
  void pixelValuesAndGridsMatchTransformers() throws Exception {
    SafeTensorsFile golden = SafeTensorsFile.open(caseA().resolve("golden.safetensors"));
    QwenImageProcessor proc = new QwenImageProcessor(3136, 12544);
    long[] order = golden.longs("image_order");
    List<Float> all = new ArrayList<>();
    List<Long> grids = new ArrayList<>();
    for (long idx : order) {
      QwenImageProcessor.Processed p = proc.process(RgbImage.read(caseA().resolve(IMAGES[(int) idx])));
      for (float f : p.pixelValues()) {
        all.add(f);
      }
      grids.add(p.grid().t());
      grids.add(p.grid().h());
      grids.add(p.grid().w());
    }
    assertArrayEquals(golden.longs("image_grid_thw"), grids.stream().mapToLong(Long::longValue).toArray());
    float[] want = golden.floats("pixel_values");
    assertEquals(want.length, all.size());
    double max = 0;
    for (int k = 0; k < want.length; k++) {
      max = Math.max(max, Math.abs(want[k] - all.get(k)));
    }
    assertTrue(max <= 1e-6, "max |pixel_values diff| " + max);
  }

  @Test
  void sameSizeIsACopyAndTinyImagesAreUpscaled() {
    RgbImage img = new RgbImage(56, 28, new byte[56 * 28 * 3]);
    img.hwc()[5] = 42;
    assertArrayEquals(img.hwc(), PillowResize.resize(img, 56, 28).hwc());
    QwenImageProcessor proc = new QwenImageProcessor(QwenImageProcessor.DEFAULT_MIN_PIXELS,
        QwenImageProcessor.DEFAULT_MAX_PIXELS);
    assertEquals(6, proc.process(img).imageTokens(),
        "56x28 is under min_pixels: upscaled to 84x56, grid 1x4x6, 6 tokens");
    // Under 28 px: VLM-R1's Lanczos upscale to a 28 px short side first (20x40 -> 28x56), then the processor.
    QwenImageProcessor.Processed tiny = proc.process(new RgbImage(20, 40, new byte[20 * 40 * 3]));
    assertEquals(new GridThw(1, 6, 4), tiny.grid(), "28x56 is then under min_pixels: 56x84");
    RgbImage up = QwenImageProcessor.upscaleTiny(new RgbImage(10, 5, new byte[10 * 5 * 3]));
    assertEquals(56, up.width());
    assertEquals(28, up.height());
    assertThrows(IllegalArgumentException.class, () -> new QwenImageProcessor(3136, 3136).process(
        new RgbImage(28, 28 * 300, new byte[28 * 28 * 300 * 3])), "aspect ratio over 200");
  }
}
