// The benchmark harness end to end on tiny shapes: every row forks, measures and lands in the CSV scheme of
// CONVENTIONS.md. Timings are not asserted (performance targets live in the harness, not in tests).
package org.vlmr1.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("slow")
class BenchHarnessTest {

  @Test
  void kernelsSuiteWritesOneCsvRowPerOpAndImpl(@TempDir Path home) throws Exception {
    BenchOptions o = new BenchOptions(false, 256, 1000, 16, 0, 1, List.of(), List.of(), 1);
    assertEquals(o, BenchOptions.fromArgs(o.toArgs()), "what a forked row reads back");
    String out = runSuite(home, "kernels", o);
    List<String> csv = Files.readAllLines(home.resolve("target/bench/kernels.csv"));
    assertEquals("op,impl,shape,dtype,ms_median,peak_extra_bytes,throughput,unit", csv.get(0));
    List<String[]> rows = csv.subList(1, csv.size()).stream().map(l -> l.split(",", -1))
        .collect(Collectors.toList());
    assertEquals(1 + 2 * 2 * 2 + 2 + 2 + 2 + 2 + 2, rows.size(), "copy + 2 ops x 2 impls x 2 dtypes + fused-linear "
        + "f32 x 2 + advantages x 2 + lmHead f32 x 2 + linear x 2 + loraDropout x 2");
    Set<String> ops = rows.stream().map(r -> r[0]).collect(Collectors.toSet());
    assertEquals(Set.of("copy", "tokenLogProbs", "grpoLoss", "grpoLossFromHidden", "groupAdvantages", "lmHead",
        "linear", "loraDropout"), ops);
    for (String[] r : rows) {
      assertEquals(8, r.length, String.join(",", r));
      String rowsPrefix = r[0].equals("lmHead") ? "B=16 " : r[0].equals("linear") ? "N=512 "
          : r[0].equals("loraDropout") ? "B=" : "N=256 ";
      assertTrue(r[0].equals("copy") || r[2].startsWith(rowsPrefix),
          "shape starts with " + rowsPrefix + "(--rows, or the row's own count): " + r[2]);
      assertTrue(Double.parseDouble(r[4]) > 0, "a measured time");
      assertTrue(Long.parseLong(r[5]) >= 0, "a measured peak");
    }
    assertTrue(out.contains("fused vs composite"), out);
  }

  /**
   * Old code: the score suite's shape was "N=10000 rewards=accuracy,format", so its rows split into nine columns
   * instead of CONVENTIONS.md's eight (shape cut in two, dtype read as "format").
   */
  @Test
  void scoreSuiteRowsHaveTheEightCsvColumns(@TempDir Path home) throws Exception {
    BenchOptions o = new BenchOptions(true, 200, 0, 0, 0, 1, List.of(), List.of(), 1);
    runSuite(home, "score", o);
    List<String> csv = Files.readAllLines(home.resolve("target/bench/score.csv"));
    assertEquals("op,impl,shape,dtype,ms_median,peak_extra_bytes,throughput,unit", csv.get(0));
    assertEquals(3, csv.size(), String.join("\n", csv));
    for (String line : csv.subList(1, csv.size())) {
      String[] r = line.split(",", -1);
      assertEquals(8, r.length, line);
      assertTrue(r[2].startsWith("N=200 "), "shape starts with the row count: " + line);
      assertEquals("text", r[3], line);
      assertEquals("completions/s", r[7], line);
    }
  }

  /**
   * Issue 15 case (b) in quick form: the old path, the engine and the engine without its pruned head roll out the
   * same GRPO-shaped batch with EOS forced at the same lengths, so their token ids must match row for row, and the
   * summary reports the rows' figures.
   */
  @Test
  void generateSuiteRollsOutOldPathAndEngineWithTheSameTokens(@TempDir Path home) throws Exception {
    BenchOptions o = new BenchOptions(true, 0, 0, 0, 0, 1, List.of("grpoRollout"), List.of(), 1);
    String out = runSuite(home, "generate", o);
    List<String> csv = Files.readAllLines(home.resolve("target/bench/generate.csv"));
    assertEquals(List.of("copy", "grpoRollout", "grpoRollout", "grpoRollout"), csv.subList(1, csv.size()).stream()
        .map(l -> l.split(",")[0]).collect(Collectors.toList()));
    assertTrue(out.contains("engine/old") && out.contains("token ids identical  [reported"), out);
    assertTrue(out.contains("pruned head: engine-pruned/engine") && !out.contains("DIFFER"), out);
  }

  /** Runs {@code suite} with {@code o} under the bench home {@code home} (its CSVs land there); its output, rc 0. */
  private static String runSuite(Path home, String suite, BenchOptions o) throws Exception {
    String previous = System.getProperty("vlmr1.home");
    System.setProperty("vlmr1.home", home.toString());
    try {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      int rc = new BenchRunner(new PrintStream(buf, true, StandardCharsets.UTF_8)).run(Suites.get(suite), o);
      String out = buf.toString(StandardCharsets.UTF_8);
      System.out.println(out);
      assertEquals(0, rc, out);
      return out;
    } finally {
      if (previous == null) {
        System.clearProperty("vlmr1.home");
      } else {
        System.setProperty("vlmr1.home", previous);
      }
    }
  }
}
