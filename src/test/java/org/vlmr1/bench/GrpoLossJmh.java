// JMH benchmark of grpoLoss forward + backward (GRPO, beta 0.04, reference log-probs), fused vs composite.
package org.vlmr1.bench;

import org.openjdk.jmh.annotations.Benchmark;

public class GrpoLossJmh extends RowJmh {
  @Override
  Measured create(boolean fused) {
    return new KernelsSuite.LossRow(rows / KernelsSuite.SEQ, KernelsSuite.SEQ, vocab, dtype, fused);
  }

  @Benchmark
  public void grpoLoss() {
    row.run();
  }
}
