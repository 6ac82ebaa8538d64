// bin/vlmr1 bench <suite> [--quick]: runs a benchmark suite and writes target/bench/<suite>.csv.
package org.vlmr1.cli;

import java.util.List;
import org.vlmr1.bench.BenchOptions;
import org.vlmr1.bench.BenchRunner;
import org.vlmr1.bench.MemoryModel;
import org.vlmr1.bench.Suites;

/** The benchmark command. */
final class BenchCommand implements Command {
  static final String MEMORY = "memory";
  /** A GRPO group (num_generations 8) of 1024-token sequences, LoRA r64: the issue 16 setting. */
  static final int MEMORY_BATCH = 8;
  static final long MEMORY_SEQ = 1024;
  static final int MEMORY_LORA_RANK = 64;

  @Override
  public String name() {
    return "bench";
  }

  @Override
  public String summary() {
    return "run a benchmark suite (" + String.join(", ", Suites.names()) + ") and write target/bench/<suite>.csv; "
        + "'bench memory' prints the training-memory estimate";
  }

  @Override
  public String positionalsUsage() {
    return "<suite>";
  }

  @Override
  public List<FlagSpec> flags() {
    return List.of(
        FlagSpec.bool("quick", "smaller shapes for a fast look (kernels: N = 512)"),
        FlagSpec.value("rows", "0", "N, the token rows (0 = the suite's default: 2048, or 512 with --quick)"),
        FlagSpec.value("vocab", "0", "V, the vocabulary (0 = Qwen's 151936)"),
        FlagSpec.value("hidden", "0", "H, the hidden size of the fused linear rows (0 = 1024)"),
        FlagSpec.value("warmup", "1", "untimed runs before the timed ones (scale: 0)"),
        FlagSpec.value("iterations", "3", "timed runs per row; the median is reported (scale: 2, its GRPO steps)"),
        FlagSpec.list("ops", null, "only these ops (e.g. tokenLogProbs,grpoLoss)"),
        FlagSpec.list("dtypes", null, "only these dtypes (f32, bf16)"),
        FlagSpec.value("nproc_per_node", "1", "train: also time the step on 1 and N data-parallel processes (Gloo on "
            + "loopback, same global batch) and the gradient all-reduce"),
        FlagSpec.value("model", null, "scale: the checkpoint folder to train (e.g. from init-tiny --like "
            + "qwen2_5_vl_3b)"));
  }

  /** The options of parsed bench flags; warm-up and timed runs not given are the suite's own defaults. */
  static BenchOptions options(Flags f, org.vlmr1.bench.BenchSuite suite) {
    try {
      int[] runs = suite.defaultRuns();
      return new BenchOptions(f.getBoolean("quick"), f.getInt("rows"), f.getInt("vocab"), f.getInt("hidden"),
          f.has("warmup") ? f.getInt("warmup") : runs[0], f.has("iterations") ? f.getInt("iterations") : runs[1],
          f.getList("ops"), f.getList("dtypes"), f.getInt("nproc_per_node"), f.has("model") ? f.get("model") : "");
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  @Override
  public int run(Flags flags) throws Exception {
    List<String> pos = flags.positionals();
    List<String> raw = Main.currentArgs();
    if (pos.size() != 1 || !raw.get(0).equals(pos.get(0))) {
      throw new UsageException("usage: vlmr1 bench <suite> [flags], with one suite: " + String.join(", ",
          Suites.names()));
    }
    if (pos.get(0).equals(MEMORY)) {
      // an estimate, not a measurement: nothing to time, so no suite and no CSV
      System.out.printf("Training memory estimate (GiB) of one step's peak, B x T = %d x %d (half of T completion), "
          + "AdamW, beta > 0, LoRA on VLM-R1's default targets (every decoder linear and the LM head); the runtime "
          + "(JVM, libtorch: about 0.4 GiB) and the allocator's retained memory come on top%n%n", MEMORY_BATCH,
          MEMORY_SEQ);
      System.out.print(MemoryModel.table(MEMORY_BATCH, MEMORY_SEQ, MEMORY_LORA_RANK));
      return 0;
    }
    org.vlmr1.bench.BenchSuite suite;
    try {
      suite = Suites.get(pos.get(0));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    BenchOptions options = options(flags, suite);
    try {
      // a missing or bad flag of the suite is a usage error, before any row forks
      if (!options.ops().contains("copy") && suite.cases(options).stream().allMatch(c -> c.op().equals("copy"))) {
        throw new UsageException(noRows(suite, options));
      }
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    return new BenchRunner(System.out).run(suite, options);
  }

  /**
   * Why --ops / --dtypes left no row (the copy-bandwidth row some suites add for their floors aside), naming the
   * suite's own: a misspelt op ran nothing, exited 0 and replaced the suite's CSV with an empty (or copy-only) one.
   */
  private static String noRows(org.vlmr1.bench.BenchSuite suite, BenchOptions o) {
    BenchOptions all = new BenchOptions(o.quick(), o.rows(), o.vocab(), o.hidden(), o.warmup(), o.iterations(),
        List.of(), List.of(), o.nprocPerNode(), o.model());
    java.util.Set<String> ops = new java.util.TreeSet<>();
    java.util.Set<String> dtypes = new java.util.TreeSet<>();
    for (org.vlmr1.bench.BenchCase c : suite.cases(all)) {
      if (!c.op().equals("copy")) {
        ops.add(c.op());
        dtypes.add(c.dtype());
      }
    }
    return "bench " + suite.name() + ": no row matches --ops " + words(o.ops()) + " --dtypes " + words(o.dtypes())
        + "; its ops: " + String.join(", ", ops) + "; its dtypes: " + String.join(", ", dtypes);
  }

  private static String words(List<String> l) {
    return l.isEmpty() ? "(all)" : String.join(",", l);
  }
}
