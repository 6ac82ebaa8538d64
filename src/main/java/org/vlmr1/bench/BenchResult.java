// One measured row: the CSV scheme of CONVENTIONS.md plus the floor bytes used for time-over-floor.
package org.vlmr1.bench;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A measured benchmark row.
 *
 * @param msMedian median wall time of one run, ms
 * @param peakExtraBytes peak resident memory above the row's baseline after its inputs were allocated
 * @param throughput work per second in {@code unit}
 * @param floorBytes minimum bytes the op moves (0 when not applicable)
 * @param extras further figures of the row ({@link Measured#extras}), in order; not in the CSV
 */
public record BenchResult(String op, String impl, String shape, String dtype, double msMedian, long peakExtraBytes,
    double throughput, String unit, long floorBytes, Map<String, String> extras) {

  public BenchResult {
    extras = Collections.unmodifiableMap(new LinkedHashMap<>(extras));
  }

  /** A row without extras. */
  public BenchResult(String op, String impl, String shape, String dtype, double msMedian, long peakExtraBytes,
      double throughput, String unit, long floorBytes) {
    this(op, impl, shape, dtype, msMedian, peakExtraBytes, throughput, unit, floorBytes, Map.of());
  }

  static final String CSV_HEADER = "op,impl,shape,dtype,ms_median,peak_extra_bytes,throughput,unit";

  /**
   * The row in CONVENTIONS.md's eight columns. A text field holding a comma is refused: the CSV is read by splitting
   * on commas (the score suite's shape "rewards=accuracy,format" once made its rows nine columns wide).
   */
  String csvLine() {
    for (String field : new String[] {op, impl, shape, dtype, unit}) {
      if (field.contains(",") || field.contains("\n")) {
        throw new IllegalArgumentException("a benchmark CSV field must not contain ',' or a line break: " + field);
      }
    }
    return String.join(",", op, impl, shape, dtype, String.format(Locale.ROOT, "%.3f", msMedian),
        Long.toString(peakExtraBytes), String.format(Locale.ROOT, "%.6g", throughput), unit);
  }

  /** The line a forked worker prints for its parent. */
  String wireLine() {
    return "VLMR1_BENCH_RESULT\t" + op + "\t" + impl + "\t" + shape + "\t" + dtype + "\t" + msMedian + "\t"
        + peakExtraBytes + "\t" + throughput + "\t" + unit + "\t" + floorBytes + "\t" + extrasText();
  }

  /** The extras as name=value;name=value (empty when none). */
  String extrasText() {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, String> e : extras.entrySet()) {
      if ((e.getKey() + e.getValue()).matches(".*[\t;=].*")) {
        throw new IllegalArgumentException("a benchmark extra must not contain tabs, ';' or '=': " + e);
      }
      sb.append(sb.length() > 0 ? ";" : "").append(e.getKey()).append('=').append(e.getValue());
    }
    return sb.toString();
  }

  static BenchResult parseWire(String line) {
    String[] f = line.split("\t");
    if (f.length < 10 || f.length > 11 || !f[0].equals("VLMR1_BENCH_RESULT")) {
      throw new IllegalArgumentException("not a benchmark result line: " + line);
    }
    return new BenchResult(f[1], f[2], f[3], f[4], Double.parseDouble(f[5]), Long.parseLong(f[6]),
        Double.parseDouble(f[7]), f[8], Long.parseLong(f[9]), f.length == 11 ? parseExtras(f[10]) : Map.of());
  }

  private static Map<String, String> parseExtras(String text) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String kv : text.isEmpty() ? new String[0] : text.split(";")) {
      int eq = kv.indexOf('=');
      out.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    return out;
  }
}
