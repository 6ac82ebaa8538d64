// The synthetic REC generator: the grid layout puts each shape in its own token cell with the named colour inside the
// solution box, the gradient background codes the position in its colour, and bad specs are refused with the reason.
package org.vlmr1.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticRecTest {
  private static final SyntheticRec.Spec GRID = new SyntheticRec.Spec(84, 56, SyntheticRec.Layout.GRID, 28,
      SyntheticRec.Background.GRADIENT, 1, 2);

  @Test
  void gridShapesSitInOneCellEachWithTheNamedColourInsideTheBox(@TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("SyntheticRecTest seed " + seed);
    Path jsonl = SyntheticRec.write(dir, 40, GRID, seed);
    List<Example> ex = JsonlDataset.load(new JsonlDataset.Spec(List.of(jsonl), List.of(dir), null,
        JsonlDataset.OnBadSample.FAIL, false)).examples();
    assertEquals(40, ex.size());
    for (Example e : ex) {
      String[] nums = e.solution().replaceAll("[\\[\\] ]", "").split(",");
      int x1 = Integer.parseInt(nums[0]);
      int y1 = Integer.parseInt(nums[1]);
      int x2 = Integer.parseInt(nums[2]);
      int y2 = Integer.parseInt(nums[3]);
      assertEquals(x1 / 28, (x2 - 1) / 28, "box inside one cell column: " + e.solution());
      assertEquals(y1 / 28, (y2 - 1) / 28, "box inside one cell row: " + e.solution());
      assertEquals(x2 - x1, y2 - y1, "squares and circles have square boxes");
      assertTrue(x2 - x1 >= 21 && x2 - x1 <= 23, "about 3/4 of the cell: " + e.solution());
      BufferedImage img = ImageIO.read(e.images().get(0).toFile());
      String colour = e.problem().replaceAll(".* the (\\w+) (square|circle)\\.$", "$1");
      int centre = img.getRGB((x1 + x2) / 2, (y1 + y2) / 2) & 0xFFFFFF;
      int expected = SyntheticRec.RGB[List.of(SyntheticRec.COLOURS).indexOf(colour)].getRGB() & 0xFFFFFF;
      assertEquals(expected, centre, "the named " + colour + " shape is at the box's centre of " + e.id());
    }
  }

  @Test
  void gradientBackgroundCodesThePosition(@TempDir Path dir) throws Exception {
    SyntheticRec.write(dir, 1, new SyntheticRec.Spec(84, 56, SyntheticRec.Layout.GRID, 28,
        SyntheticRec.Background.GRADIENT, 1, 1), 3);
    BufferedImage img = ImageIO.read(Files.list(dir.resolve("images")).findFirst().orElseThrow().toFile());
    // Corners are background: shapes are centred in their cells with at least 2 px around them.
    assertArrayEquals(new int[] {0, 128, 0}, rgb(img, 0, 0));
    assertArrayEquals(new int[] {255 * 83 / 84, 128, 0}, rgb(img, 83, 0));
    assertArrayEquals(new int[] {0, 128, 255 * 55 / 56}, rgb(img, 0, 55));
  }

  @Test
  void refusesSpecsItCannotDraw() {
    IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
        () -> new SyntheticRec.Spec(56, 28, SyntheticRec.Layout.GRID, 28, SyntheticRec.Background.FLAT, 1, 3));
    assertTrue(tooMany.getMessage().contains("2x1 cells for up to 3 shapes"), tooMany.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> new SyntheticRec.Spec(84, 56, SyntheticRec.Layout.FREE, 28, SyntheticRec.Background.FLAT, 0, 2));
    assertThrows(IllegalArgumentException.class,
        () -> new SyntheticRec.Spec(84, 56, SyntheticRec.Layout.FREE, 28, SyntheticRec.Background.FLAT, 2, 5));
  }

  private static int[] rgb(BufferedImage img, int x, int y) {
    int p = img.getRGB(x, y);
    return new int[] {(p >> 16) & 0xFF, (p >> 8) & 0xFF, p & 0xFF};
  }
}
