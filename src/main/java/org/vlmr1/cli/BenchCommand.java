// bin/vlmr1 bench <suite> [--quick]: runs a benchmark suite and writes target/bench/<suite>.csv.
package org.vlmr1.cli;

import java.util.List;
import org.vlmr1.bench.BenchOptions;
import org.vlmr1.bench.BenchRunner;
import org.vlmr1.bench.Suites;

/** The benchmark command. */
final class BenchCommand implements Command {
  @Override
  public String name() {
    return "bench";
  }

  @Override
  public String summary() {
    return "run a benchmark suite (" + String.join(", ", Suites.names()) + ") and write target/bench/<suite>.csv";
  }

  @Override
  public String positionalsUsage() {
    return "<suite>";
  }

  @Override
  public List<FlagSpec> flags() {
    return BenchOptions.flags();
  }

  @Override
  public int run(Flags flags) throws Exception {
    List<String> pos = flags.positionals();
    List<String> raw = Main.currentArgs();
    if (pos.size() != 1 || !raw.get(0).equals(pos.get(0))) {
      throw new UsageException("usage: vlmr1 bench <suite> [flags], with one suite: " + String.join(", ",
          Suites.names()));
    }
    // The options keep the raw flags so that each forked row parses exactly what the user typed.
    BenchOptions options = BenchOptions.parse(raw.subList(1, raw.size()), System.err);
    return new BenchRunner(System.out).run(Suites.get(pos.get(0)), options);
  }
}
