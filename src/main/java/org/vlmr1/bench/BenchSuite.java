// A benchmark suite: named rows that the harness runs one forked JVM each.
package org.vlmr1.bench;

import java.util.List;

/** A suite of {@code bin/vlmr1 bench <suite>}; later suites (preprocess, generate, train, score) implement this. */
public interface BenchSuite {
  /** The suite's name on the command line and in target/bench/NAME.csv. */
  String name();

  /** The rows for these options; called in the parent and again in each forked worker, so it must be cheap. */
  List<BenchCase> cases(BenchOptions options);

  /**
   * The warm-up and timed runs when the command line gives none: {@code {1, 3}}, or a suite's own (scale runs
   * exactly its 2 GRPO steps, none of them a warm-up).
   */
  default int[] defaultRuns() {
    return new int[] {1, 3};
  }

  /** Lines printed after the table: ratios and targets computed from the results (may be empty). */
  default List<String> summary(List<BenchResult> results, double copyBytesPerSecond) {
    return List.of();
  }
}
