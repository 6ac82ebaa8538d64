// Decoding non-RGB images the way transformers' convert_to_rgb does (alpha composited onto white with Pillow's
// integer arithmetic).
package org.vlmr1.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

class RgbImageTest {
  @Test
  void alphaIsCompositedOntoWhiteAsPillowDoes() {
    assertEquals(255, RgbImage.compositeOnWhite(0, 0));
    assertEquals(10, RgbImage.compositeOnWhite(10, 255));
    assertEquals(128, RgbImage.compositeOnWhite(0, 127), "half-transparent black over white");
  }

  @Test
  void greyAndRgbaBecomeRgb() {
    BufferedImage grey = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
    grey.getRaster().setSample(0, 0, 0, 77);
    RgbImage g = RgbImage.fromBuffered(grey);
    assertEquals(77, g.get(0, 0, 0));
    assertEquals(77, g.get(0, 0, 2), "grey is replicated (no colour-space conversion)");
    BufferedImage rgba = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB);
    rgba.setRGB(0, 0, (127 << 24));
    assertEquals(128, RgbImage.fromBuffered(rgba).get(0, 0, 1));
  }

  @Test
  void pixelBytesAreCountedInLongs() {
    assertEquals(12, RgbImage.bytes(2, 2));
    assertEquals(3L * 13377 * 13377, RgbImage.bytes(13377, 13377), "Pillow's largest image fits an array");
    // 30000 x 30000 x 3 wraps an int to -1,594,967,296: the old new byte[w * h * 3] threw NegativeArraySizeException
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> RgbImage.bytes(30000, 30000));
    assertTrue(e.getMessage().contains("30000x30000 image needs 2700000000 bytes"), e.getMessage());
  }
}
