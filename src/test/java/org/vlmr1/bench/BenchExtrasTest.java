// A row's extras cross the worker's wire line intact, and the train suite judges issue 18's targets from them.
package org.vlmr1.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BenchExtrasTest {
  @Test
  void extrasRoundTripThroughTheWireLineInOrder() {
    long seed = System.nanoTime();
    System.out.println("BenchExtrasTest: seed " + seed);
    Random rnd = new Random(seed);
    Map<String, String> extras = new LinkedHashMap<>();
    extras.put("generate_s", String.valueOf(rnd.nextDouble() * 10));
    extras.put("loss_s", String.valueOf(rnd.nextDouble() * 10));
    extras.put("peak_rss_gb", String.valueOf(rnd.nextDouble() * 5));
    extras.put("ids", "12ab,34cd");
    BenchResult r = new BenchResult("grpoStepStages", "vlmr1", "N=16 G=4", "f32", 12.5, 3, 7.25, "tokens/s", 0,
        extras);
    BenchResult back = BenchResult.parseWire(r.wireLine());
    assertEquals(r, back);
    assertEquals(List.copyOf(extras.keySet()), List.copyOf(back.extras().keySet()));
    BenchResult plain = new BenchResult("copy", "libtorch", "bytes=8", "f32", 1, 0, 2, "GB/s", 8);
    assertEquals(plain, BenchResult.parseWire(plain.wireLine()));
  }

  @Test
  void trainSummaryJudgesEachTarget() {
    BenchResult r = new BenchResult(TrainSuite.STAGES_OP, "vlmr1", "N=16", "f32", 1, 0, 1, "tokens/s", 0,
        Map.of("generate_s", "1.2", "loss_s", "2.7", "peak_rss_gb", "3.0"));
    List<String> lines = new TrainSuite().summary(List.of(r), 0);
    assertEquals(4, lines.size(), String.join("\n", lines));
    assertTrue(lines.get(1).contains("generate stage") && lines.get(1).endsWith(": met)"), lines.get(1));
    assertTrue(lines.get(2).contains("loss stage") && lines.get(2).endsWith("NOT met)"), lines.get(2));
    assertTrue(lines.get(3).contains("peak RSS") && lines.get(3).endsWith(": met)"), lines.get(3));
  }
}
