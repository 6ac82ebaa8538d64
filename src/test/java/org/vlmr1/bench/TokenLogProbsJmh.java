// JMH benchmark of tokenLogProbs, fused vs composite (never run by the default build; see README "Benchmarks").
package org.vlmr1.bench;

import org.openjdk.jmh.annotations.Benchmark;

public class TokenLogProbsJmh extends RowJmh {
  @Override
  Measured create(boolean fused) {
    return new KernelsSuite.TokenLogProbsRow(rows, vocab, dtype, fused);
  }

  @Benchmark
  public void tokenLogProbs() {
    row.run();
  }
}
