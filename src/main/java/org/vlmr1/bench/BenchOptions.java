// Options shared by every benchmark suite (bin/vlmr1 bench <suite> ...).
package org.vlmr1.bench;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * @param quick smaller shapes for a fast look (kernels: N = 512 instead of 2048)
 * @param rows overrides N (0 = the suite's default)
 * @param vocab overrides V (0 = the suite's default, the Qwen vocabulary 151,936)
 * @param hidden overrides H (0 = the suite's default, 1024)
 * @param warmup untimed runs before the timed ones
 * @param iterations timed runs; the median is reported
 * @param ops only these ops (empty = all)
 * @param dtypes only these dtypes (empty = all)
 * @param nprocPerNode train: also time 1 and N data-parallel processes
 * @param model scale: the checkpoint folder to train ("" = none; the suites with their own tiny models ignore it)
 */
public record BenchOptions(boolean quick, long rows, long vocab, long hidden, int warmup, int iterations,
    List<String> ops, List<String> dtypes, int nprocPerNode, String model) {

  public BenchOptions {
    if (rows < 0 || vocab < 0 || hidden < 0) {
      throw new IllegalArgumentException("rows, vocab and hidden must be >= 0 (0 = default)");
    }
    if (nprocPerNode < 1) {
      throw new IllegalArgumentException("nproc_per_node must be >= 1");
    }
    if (warmup < 0 || iterations < 1) {
      throw new IllegalArgumentException("warmup must be >= 0 and iterations >= 1");
    }
    ops = List.copyOf(ops);
    dtypes = List.copyOf(dtypes);
    if (model == null || model.contains("\n")) {
      throw new IllegalArgumentException("model must be a folder path (\"\" = none)");
    }
  }

  /** Options without a model folder. */
  public BenchOptions(boolean quick, long rows, long vocab, long hidden, int warmup, int iterations,
      List<String> ops, List<String> dtypes, int nprocPerNode) {
    this(quick, rows, vocab, hidden, warmup, iterations, ops, dtypes, nprocPerNode, "");
  }

  /** These options with another warm-up and timed-run count (a suite's own defaults). */
  public BenchOptions withRuns(int newWarmup, int newIterations) {
    return new BenchOptions(quick, rows, vocab, hidden, newWarmup, newIterations, ops, dtypes, nprocPerNode, model);
  }

  /**
   * These options as the arguments of a forked row ({@link #fromArgs} reads them back): key=value words, lists
   * comma-separated.
   */
  public List<String> toArgs() {
    return List.of("quick=" + quick, "rows=" + rows, "vocab=" + vocab, "hidden=" + hidden, "warmup=" + warmup,
        "iterations=" + iterations, "ops=" + String.join(",", ops), "dtypes=" + String.join(",", dtypes),
        "nproc_per_node=" + nprocPerNode, "model=" + model);
  }

  /** Reads {@link #toArgs}. */
  public static BenchOptions fromArgs(List<String> args) {
    Map<String, String> kv = new HashMap<>();
    for (String a : args) {
      int eq = a.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException("a benchmark row's option must be key=value, got '" + a + "'");
      }
      kv.put(a.substring(0, eq), a.substring(eq + 1));
    }
    return new BenchOptions(Boolean.parseBoolean(kv.get("quick")), Long.parseLong(kv.get("rows")),
        Long.parseLong(kv.get("vocab")), Long.parseLong(kv.get("hidden")), Integer.parseInt(kv.get("warmup")),
        Integer.parseInt(kv.get("iterations")), words(kv.get("ops")), words(kv.get("dtypes")),
        Integer.parseInt(kv.get("nproc_per_node")), kv.getOrDefault("model", ""));
  }

  private static List<String> words(String commaSeparated) {
    return commaSeparated == null || commaSeparated.isEmpty() ? List.of() : List.of(commaSeparated.split(","));
  }

  boolean wants(String op, String dtype) {
    return (ops.isEmpty() || ops.contains(op)) && (dtypes.isEmpty() || dtypes.contains(dtype));
  }
}
