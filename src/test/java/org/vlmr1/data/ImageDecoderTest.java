// Background image decoding: images come back per example in order (a prompt's copies share one decode), and a file
// that cannot be decoded fails only its examples, each naming its data line and the file.
package org.vlmr1.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageDecoderTest {
  @Test
  void decodesPerExampleInOrder(@TempDir Path dir) throws Exception {
    Path a = dir.resolve("a.png");
    Path b = dir.resolve("b.png");
    ImageIO.write(new BufferedImage(5, 3, BufferedImage.TYPE_INT_RGB), "png", a.toFile());
    ImageIO.write(new BufferedImage(2, 7, BufferedImage.TYPE_INT_RGB), "png", b.toFile());
    Example e1 = new Example("1", "q", List.of(a, b), "s", null, Map.of());
    Example e2 = new Example("2", "q", List.of(a), "s", null, Map.of());
    Example text = new Example("3", "q", List.of(), "s", null, Map.of());
    try (ImageDecoder d = new ImageDecoder(2)) {
      List<List<RgbImage>> out = ImageDecoder.await(d.submit(List.of(e1, e2, e1, text))).stream()
          .map(ImageDecoder.Decoded::images).toList();
      assertEquals(4, out.size());
      assertArrayEquals(new int[] {5, 2}, new int[] {out.get(0).get(0).width(), out.get(0).get(1).width()});
      assertSame(out.get(0).get(0), out.get(1).get(0), "one decode per distinct file");
      assertTrue(out.get(3).isEmpty());
      Path bad = dir.resolve("bad.png");
      Files.writeString(bad, "not an image");
      Path late = dir.resolve("late.png");
      BadImageFiles.pngWithCorruptData(late, 12, 9);
      Example broken = new Example("7", "q", List.of(bad), "s", null, Map.of(), "d.jsonl:3");
      Example corrupt = new Example("d.jsonl:4", "q", List.of(a, late), "s", null, Map.of(), "d.jsonl:4");
      List<ImageDecoder.Decoded> r = ImageDecoder.await(d.submit(List.of(e2, broken, corrupt, broken)));
      assertTrue(r.get(0).ok());
      assertEquals(5, r.get(0).images().get(0).width(), "the good example of the batch decodes");
      assertTrue(r.get(1).failure().startsWith("d.jsonl:3 (example 7): image " + bad + " cannot be decoded: "),
          r.get(1).failure());
      assertEquals("d.jsonl:4: image " + late + " cannot be decoded: Error reading PNG image data",
          r.get(2).failure());
      assertTrue(r.get(2).images().isEmpty());
      assertEquals(r.get(1), r.get(3));
    }
  }
}
