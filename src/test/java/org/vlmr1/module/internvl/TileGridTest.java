// TileGrid against InternVL's dynamic_preprocess run under CPython 3.11 (test resource golden/internvl_tiles.json).
package org.vlmr1.module.internvl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vlmr1.module.internvl.TileGrid.Grid;

class TileGridTest {
  private static JsonNode golden;

  @BeforeAll
  static void readGolden() throws Exception {
    try (InputStream in = TileGridTest.class.getResourceAsStream("/golden/internvl_tiles.json")) {
      golden = new ObjectMapper().readTree(in);
    }
  }

  @Test
  void candidateOrdersMatchCPython() {
    JsonNode orders = golden.get("target_ratios_order");
    assertEquals(Set.of("1-12", "1-6", "1-4", "1-1"), fieldNames(orders));
    for (Map.Entry<String, JsonNode> e : orders.properties()) {
      String[] range = e.getKey().split("-");
      List<Grid> expected = new ArrayList<>();
      e.getValue().forEach(pair -> expected.add(grid(pair)));
      assertEquals(expected, TileGrid.candidates(Integer.parseInt(range[0]), Integer.parseInt(range[1])), e.getKey());
    }
  }

  /**
   * Orders recorded with CPython 3.11.7 ({@code sorted(set(<InternVL's generator>), key=lambda x: x[0] * x[1])}).
   * The golden ranges are small enough that a set with no linear probing, or with the older 2/3 resize rule, or
   * probing on from the last linearly probed slot, still yields them; these two ranges tell each of those apart.
   */
  @Test
  void candidateOrdersMatchCPythonOnRangesThatExerciseProbingAndResizing() {
    assertEquals("1,9 3,3 9,1 2,5 5,2 10,1 1,10 11,1 1,11 12,1 3,4 4,3 1,12 6,2 2,6 13,1 1,13 14,1 2,7 1,14 7,2 1,15"
        + " 5,3 15,1 3,5 1,16 2,8 16,1 8,2 4,4", format(TileGrid.candidates(9, 16)));
    assertEquals("34,1 1,34 2,17 17,2 7,5 5,7 35,1 1,35 4,9 36,1 12,3 1,36 3,12 9,4 2,18 6,6 18,2 1,37 37,1 38,1 19,2"
        + " 2,19 1,38 3,13 1,39 39,1 13,3 1,40 40,1 2,20 8,5 4,10 5,8 10,4 20,2 1,41 41,1 14,3 1,42 42,1 21,2 6,7 7,6"
        + " 3,14 2,21 1,43 43,1 22,2 4,11 11,4 44,1 2,22 1,44 1,45 45,1 9,5 5,9 3,15 15,3",
        format(TileGrid.candidates(34, 45)));
  }

  @Test
  void everyGoldenCaseMatches() {
    JsonNode cases = golden.get("cases");
    assertEquals(105, cases.size());
    for (JsonNode c : cases) {
      int w = c.get("width").asInt();
      int h = c.get("height").asInt();
      int min = c.get("min_num").asInt();
      int max = c.get("max_num").asInt();
      int size = c.get("image_size").asInt();
      String note = w + "x" + h + " min=" + min + " max=" + max + " size=" + size;
      assertEquals(c.get("aspect_ratio").asDouble(), (double) w / h, note);
      Grid g = TileGrid.choose(w, h, min, max, size);
      assertEquals(grid(c.get("target_aspect_ratio")), g, note);
      assertEquals(c.get("target_width").asInt(), size * g.columns(), note);
      assertEquals(c.get("target_height").asInt(), size * g.rows(), note);
      assertEquals(c.get("blocks").asInt(), g.blocks(), note);
      assertEquals(c.get("num_tiles").asInt(), TileGrid.numTiles(g, c.get("use_thumbnail").asBoolean()), note);
      List<Grid> tied = new ArrayList<>();
      c.get("tied_min_diff_ratios").forEach(pair -> tied.add(grid(pair)));
      assertEquals(tied, tiedAtMinimum(w, h, min, max), note);
    }
  }

  @Test
  void candidatesHoldEveryGridOnceSortedByArea() {
    for (int n = 1; n <= 40; n++) {
      for (int min = 1; min <= n; min += Math.max(1, n / 4)) {
        List<Grid> grids = TileGrid.candidates(min, n);
        Set<Grid> expected = new HashSet<>();
        for (int i = 1; i <= n; i++) {
          for (int j = 1; i * j <= n; j++) {
            if (i * j >= min) {
              expected.add(new Grid(i, j));
            }
          }
        }
        assertEquals(expected.size(), grids.size(), min + "-" + n + ": no duplicates");
        assertEquals(expected, new HashSet<>(grids), min + "-" + n);
        for (int k = 1; k < grids.size(); k++) {
          assertTrue(grids.get(k - 1).blocks() <= grids.get(k).blocks(), min + "-" + n + " sorted by area");
        }
      }
    }
  }

  @Test
  void candidatesAreCachedAndUnmodifiable() {
    List<Grid> grids = TileGrid.candidates(1, 12);
    assertTrue(grids == TileGrid.candidates(1, 12));
    assertThrows(UnsupportedOperationException.class, () -> grids.add(new Grid(1, 1)));
  }

  @Test
  void numTilesAddsAThumbnailOnlyToMultiTileGrids() {
    assertEquals(1, TileGrid.numTiles(new Grid(1, 1), true));
    assertEquals(1, TileGrid.numTiles(new Grid(1, 1), false));
    assertEquals(7, TileGrid.numTiles(new Grid(2, 3), true));
    assertEquals(6, TileGrid.numTiles(new Grid(2, 3), false));
  }

  @Test
  void rejectsInvalidArguments() {
    assertThrows(IllegalArgumentException.class, () -> TileGrid.candidates(0, 12));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TileGrid.candidates(5, 4));
    assertEquals("tile counts need 1 <= min_num <= max_num, got min_num=5, max_num=4", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> TileGrid.choose(0, 448, 1, 12, 448));
    assertThrows(IllegalArgumentException.class, () -> TileGrid.choose(448, 0, 1, 12, 448));
    assertThrows(IllegalArgumentException.class, () -> TileGrid.choose(448, 448, 1, 12, 0));
    assertThrows(IllegalArgumentException.class, () -> TileGrid.choose(448, 448, 3, 2, 448));
  }

  /** The golden's tied_min_diff_ratios: candidates at the minimal |aspect - i/j| when more than one is. */
  private static List<Grid> tiedAtMinimum(int w, int h, int min, int max) {
    double aspect = (double) w / h;
    List<Grid> grids = TileGrid.candidates(min, max);
    double best = Double.POSITIVE_INFINITY;
    for (Grid g : grids) {
      best = Math.min(best, Math.abs(aspect - (double) g.columns() / g.rows()));
    }
    List<Grid> tied = new ArrayList<>();
    for (Grid g : grids) {
      if (Math.abs(aspect - (double) g.columns() / g.rows()) == best) {
        tied.add(g);
      }
    }
    return tied.size() > 1 ? tied : List.of();
  }

  private static Grid grid(JsonNode pair) {
    return new Grid(pair.get(0).asInt(), pair.get(1).asInt());
  }

  private static String format(List<Grid> grids) {
    StringBuilder sb = new StringBuilder();
    for (Grid g : grids) {
      sb.append(sb.length() == 0 ? "" : " ").append(g.columns()).append(',').append(g.rows());
    }
    return sb.toString();
  }

  private static Set<String> fieldNames(JsonNode node) {
    Set<String> names = new HashSet<>();
    node.properties().forEach(e -> names.add(e.getKey()));
    return names;
  }
}
