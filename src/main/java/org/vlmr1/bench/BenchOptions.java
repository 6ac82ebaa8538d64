// Options shared by every benchmark suite (bin/vlmr1 bench <suite> ...).
package org.vlmr1.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.vlmr1.cli.FlagSpec;
import org.vlmr1.cli.Flags;

/**
 * @param quick smaller shapes for a fast look (kernels: N = 512 instead of 2048)
 * @param rows overrides N (0 = the suite's default)
 * @param vocab overrides V (0 = the suite's default, the Qwen vocabulary 151,936)
 * @param hidden overrides H (0 = the suite's default, 1024)
 * @param warmup untimed runs before the timed ones
 * @param iterations timed runs; the median is reported
 * @param ops only these ops (empty = all)
 * @param dtypes only these dtypes (empty = all)
 * @param args the command-line arguments these options came from, handed to the forked workers
 */
public record BenchOptions(boolean quick, long rows, long vocab, long hidden, int warmup, int iterations,
    List<String> ops, List<String> dtypes, List<String> args, int nprocPerNode) {

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
    args = List.copyOf(args);
  }

  /** The flags of {@code bin/vlmr1 bench}, shared by every suite. */
  public static List<FlagSpec> flags() {
    return List.of(
        FlagSpec.bool("quick", "smaller shapes for a fast look (kernels: N = 512)"),
        FlagSpec.value("rows", "0", "N, the token rows (0 = the suite's default: 2048, or 512 with --quick)"),
        FlagSpec.value("vocab", "0", "V, the vocabulary (0 = Qwen's 151936)"),
        FlagSpec.value("hidden", "0", "H, the hidden size of the fused linear rows (0 = 1024)"),
        FlagSpec.value("warmup", "1", "untimed runs before the timed ones"),
        FlagSpec.value("iterations", "3", "timed runs per row; the median is reported"),
        FlagSpec.list("ops", null, "only these ops (e.g. tokenLogProbs,grpoLoss)"),
        FlagSpec.list("dtypes", null, "only these dtypes (f32, bf16)"),
        FlagSpec.value("nproc_per_node", "1", "train: also time the step on 1 and N data-parallel processes (Gloo on "
            + "loopback, same global batch) and the gradient all-reduce"));
  }

  /** Parses the suite-independent bench flags. */
  public static BenchOptions parse(List<String> args, PrintStream warn) {
    Flags f = Flags.parse(flags(), args, warn);
    if (!f.positionals().isEmpty()) {
      throw new org.vlmr1.cli.UsageException("unexpected argument " + f.positionals().get(0));
    }
    return new BenchOptions(f.getBoolean("quick"), f.getInt("rows"), f.getInt("vocab"), f.getInt("hidden"),
        f.getInt("warmup"), f.getInt("iterations"), f.getList("ops"), f.getList("dtypes"), new ArrayList<>(args),
        f.getInt("nproc_per_node"));
  }

  boolean wants(String op, String dtype) {
    return (ops.isEmpty() || ops.contains(op)) && (dtypes.isEmpty() || dtypes.contains(dtype));
  }
}
