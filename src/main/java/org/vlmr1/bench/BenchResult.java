// One measured row: the CSV scheme of CONVENTIONS.md plus the floor bytes used for time-over-floor.
package org.vlmr1.bench;

import java.util.Locale;

/**
 * A measured benchmark row.
 *
 * @param msMedian median wall time of one run, ms
 * @param peakExtraBytes peak resident memory above the row's baseline after its inputs were allocated
 * @param throughput work per second in {@code unit}
 * @param floorBytes minimum bytes the op moves (0 when not applicable)
 */
public record BenchResult(String op, String impl, String shape, String dtype, double msMedian, long peakExtraBytes,
    double throughput, String unit, long floorBytes) {

  static final String CSV_HEADER = "op,impl,shape,dtype,ms_median,peak_extra_bytes,throughput,unit";

  String csvLine() {
    return String.join(",", op, impl, shape, dtype, String.format(Locale.ROOT, "%.3f", msMedian),
        Long.toString(peakExtraBytes), String.format(Locale.ROOT, "%.6g", throughput), unit);
  }

  /** The line a forked worker prints for its parent. */
  String wireLine() {
    return "VLMR1_BENCH_RESULT\t" + op + "\t" + impl + "\t" + shape + "\t" + dtype + "\t" + msMedian + "\t"
        + peakExtraBytes + "\t" + throughput + "\t" + unit + "\t" + floorBytes;
  }

  static BenchResult parseWire(String line) {
    String[] f = line.split("\t");
    if (f.length != 10 || !f[0].equals("VLMR1_BENCH_RESULT")) {
      throw new IllegalArgumentException("not a benchmark result line: " + line);
    }
    return new BenchResult(f[1], f[2], f[3], f[4], Double.parseDouble(f[5]), Long.parseLong(f[6]),
        Double.parseDouble(f[7]), f[8], Long.parseLong(f[9]));
  }
}
