// Runs a suite's rows, one forked JVM per row (so memory an earlier row left with the allocator cannot hide the
// next row's peak), then prints the table and writes target/bench/<suite>.csv (CONVENTIONS.md "Benchmarks").
package org.vlmr1.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;

/** The benchmark harness. */
public final class BenchRunner {
  private final PrintStream out;
  private int progressLines; // progress lines the current row printed

  public BenchRunner(PrintStream out) {
    this.out = out;
  }

  /** Where CSVs go: target/bench under the project root (vlmr1.home, set by bin/vlmr1, else the working dir). */
  public static Path benchDir() {
    return Path.of(System.getProperty("vlmr1.home", ".")).resolve("target").resolve("bench");
  }

  /** Runs every row; returns 0 when all rows ran, 1 otherwise. Writes the CSV either way. */
  public int run(BenchSuite suite, BenchOptions o) throws IOException {
    List<BenchCase> cases = suite.cases(o);
    List<BenchResult> results = new ArrayList<>();
    int failures = 0;
    out.printf(Locale.ROOT, "bench %s: %d rows, each in its own JVM (%d warm-up + %d timed runs)%n", suite.name(),
        cases.size(), o.warmup(), o.iterations());
    for (int i = 0; i < cases.size(); i++) {
      BenchCase c = cases.get(i);
      out.printf(Locale.ROOT, "[%d/%d] %s %s %s %s ... ", i + 1, cases.size(), c.op(), c.impl(), c.dtype(), c.shape());
      out.flush();
      try {
        progressLines = 0;
        BenchResult r = fork(suite, c, o);
        results.add(r);
        out.printf(Locale.ROOT, "%s%.1f ms, +%s%n", progressLines > 0 ? "      done: " : "", r.msMedian(),
            mib(r.peakExtraBytes()));
        if (!r.extras().isEmpty()) {
          out.println("      " + r.extrasText().replace(";", "  "));
        }
      } catch (IOException | RuntimeException e) {
        failures++;
        out.println("FAILED: " + e.getMessage());
      }
    }
    double bandwidth = results.stream().filter(r -> r.op().equals("copy")).mapToDouble(r -> r.throughput() * 1e9)
        .findFirst().orElse(0);
    Path csv = benchDir().resolve(suite.name() + ".csv");
    writeCsv(csv, results);
    out.println();
    out.print(table(results, bandwidth));
    for (String line : suite.summary(results, bandwidth)) {
      out.println(line);
    }
    out.println("wrote " + csv.toAbsolutePath().normalize());
    return failures == 0 ? 0 : 1;
  }

  private BenchResult fork(BenchSuite suite, BenchCase c, BenchOptions o) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx2g");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-DOPT_OUT_TRACKING=true");
    // JavaCPP would throw once native memory passes 4 x -Xmx; the composites legitimately need more than that.
    cmd.add("-Dorg.bytedeco.javacpp.maxPhysicalBytes=0");
    for (String prop : new String[] {"vlmr1.kernels", "org.bytedeco.javacpp.cachedir"}) {
      if (System.getProperty(prop) != null && !c.jvmProperties().containsKey(prop)) {
        cmd.add("-D" + prop + "=" + System.getProperty(prop));
      }
    }
    c.jvmProperties().forEach((k, v) -> cmd.add("-D" + k + "=" + v));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(BenchWorker.class.getName());
    cmd.add(suite.name());
    cmd.add(c.id());
    cmd.addAll(o.toArgs());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    org.vlmr1.kernels.TorchRuntime.applyThreadEnv(pb.environment());
    Process p = pb.start();
    BenchResult result = null;
    Deque<String> tail = new ArrayDeque<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        if (line.startsWith("VLMR1_BENCH_RESULT")) {
          result = BenchResult.parseWire(line);
        } else if (line.startsWith(BenchWorker.PROGRESS)) {
          // a long row's progress (loading, each step), shown as it comes
          out.print((progressLines++ == 0 ? System.lineSeparator() : "") + "      | "
              + line.substring(BenchWorker.PROGRESS.length()) + System.lineSeparator());
          out.flush();
        } else {
          tail.addLast(line);
          if (tail.size() > 15) {
            tail.removeFirst();
          }
        }
      }
    }
    int rc;
    try {
      rc = p.waitFor();
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (rc != 0 || result == null) {
      throw new IOException("worker exited with " + rc + ":\n    " + String.join("\n    ", tail));
    }
    return result;
  }

  static void writeCsv(Path csv, List<BenchResult> results) throws IOException {
    Files.createDirectories(csv.getParent());
    List<String> lines = new ArrayList<>();
    lines.add(BenchResult.CSV_HEADER);
    for (BenchResult r : results) {
      lines.add(r.csvLine());
    }
    Files.write(csv, lines, StandardCharsets.UTF_8);
  }

  static String mib(long bytes) {
    return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }

  static String table(List<BenchResult> results, double bandwidth) {
    StringBuilder sb = new StringBuilder();
    String fmt = "%-20s %-10s %-5s %-36s %11s %13s %16s %9s%n";
    sb.append(String.format(Locale.ROOT, fmt, "op", "impl", "dtype", "shape", "ms (median)", "peak extra",
        "throughput", "x floor"));
    for (BenchResult r : results) {
      String floor = r.floorBytes() > 0 && bandwidth > 0 && !r.op().equals("copy")
          ? String.format(Locale.ROOT, "%.2f", r.msMedian() / (r.floorBytes() / bandwidth * 1e3)) : "";
      sb.append(String.format(Locale.ROOT, fmt, r.op(), r.impl(), r.dtype(), r.shape(),
          String.format(Locale.ROOT, "%.1f", r.msMedian()), mib(r.peakExtraBytes()),
          String.format(Locale.ROOT, "%.4g %s", r.throughput(), r.unit()), floor));
    }
    return sb.toString();
  }
}
