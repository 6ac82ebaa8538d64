// The forked JVM of one benchmark row: prepare inputs, reset the peak RSS, time the runs, print one result line.
// Run by BenchRunner as: java -cp ... org.vlmr1.bench.BenchWorker <suite> <case-id> [BenchOptions.toArgs()...]
package org.vlmr1.bench;

import java.util.Arrays;
import java.util.List;
import org.vlmr1.kernels.TorchRuntime;

/** Entry point of a forked benchmark row. */
public final class BenchWorker {
  /** A worker's output line that its parent shows at once (the rest only when the worker fails). */
  static final String PROGRESS = "VLMR1_BENCH_PROGRESS ";

  private BenchWorker() {}

  /** Shows {@code message} in the parent's output while the row still runs (loading, each step of a long row). */
  static void progress(String message) {
    System.out.println(PROGRESS + message);
    System.out.flush();
  }

  public static void main(String[] args) {
    try {
      TorchRuntime.load();
      BenchSuite suite = Suites.get(args[0]);
      String id = args[1];
      BenchOptions o = BenchOptions.fromArgs(List.of(args).subList(2, args.length));
      BenchCase c = suite.cases(o).stream().filter(x -> x.id().equals(id)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no case " + id + " in suite " + suite.name()));
      System.out.println(measure(c, o).wireLine());
      System.exit(0);
    } catch (Throwable t) {
      t.printStackTrace();
      System.exit(1);
    }
  }

  static BenchResult measure(BenchCase c, BenchOptions o) {
    try (Measured m = c.prepare().get()) {
      boolean mem = ProcMemory.available();
      long base = mem ? ProcMemory.rssBytes() : 0;
      if (mem) {
        ProcMemory.resetPeak();
      }
      for (int i = 0; i < o.warmup(); i++) {
        m.reset();
        m.run();
      }
      m.timedRunsStart();
      double[] ms = new double[o.iterations()];
      for (int i = 0; i < ms.length; i++) {
        m.reset();
        long t0 = System.nanoTime();
        m.run();
        ms[i] = (System.nanoTime() - t0) / 1e6;
      }
      long peak = mem ? Math.max(0, ProcMemory.peakBytes() - base) : -1;
      Arrays.sort(ms);
      double median = ms.length % 2 == 1 ? ms[ms.length / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
      return new BenchResult(c.op(), c.impl(), c.shape(), c.dtype(), median, peak,
          m.workPerRun() / (median / 1e3), m.unit(), m.floorBytes(), m.extras());
    }
  }
}
