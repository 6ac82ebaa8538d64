// make-synthetic: the layout, background and shape-count flags reach the generator, and bad values are usage errors
// that name the flag and the accepted values.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MakeSyntheticCommandTest {

  @Test
  void gridFlagsWriteOneShapePerCell(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("grid");
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", out.toString(), "--n", "12", "--width", "84",
        "--height", "56", "--layout", "grid", "--background", "gradient", "--min_shapes", "1", "--max_shapes", "1")
        .rc());
    List<String> lines = Files.readAllLines(out.resolve("data.jsonl"));
    assertEquals(12, lines.size());
    for (String l : lines) {
      String box = l.replaceAll(".*\"value\":\"\\[([0-9, ]+)\\]\".*", "$1");
      int x1 = Integer.parseInt(box.split(", ")[0]);
      int x2 = Integer.parseInt(box.split(", ")[2]);
      assertEquals(x1 / 28, (x2 - 1) / 28, "one cell: " + box);
    }
  }

  @Test
  void badValuesAreUsageErrors(@TempDir Path dir) throws Exception {
    ScoreCommandTest.Run r = ScoreCommandTest.run("make-synthetic", "--out", dir.toString(), "--layout",
        "diagonal");
    assertNotEquals(0, r.rc());
    assertTrue(r.err().contains("--layout takes free or grid, got 'diagonal'"), r.err());
    r = ScoreCommandTest.run("make-synthetic", "--out", dir.toString(), "--layout", "grid", "--width", "56",
        "--height", "28");
    assertNotEquals(0, r.rc());
    assertTrue(r.err().contains("2x1 cells for up to 3 shapes"), r.err());
  }
}
