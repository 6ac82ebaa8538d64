// The one-process group: every collective is the identity.
package org.vlmr1.distributed;

import org.bytedeco.pytorch.Tensor;

/** Rank 0 of 1. */
public final class SingleProcess implements Collectives {
  public static final SingleProcess INSTANCE = new SingleProcess();

  private SingleProcess() {}

  @Override
  public int rank() {
    return 0;
  }

  @Override
  public int worldSize() {
    return 1;
  }

  @Override
  public void allReduceSum(Tensor t, String what) {}

  @Override
  public Pending allReduceSumAsync(Tensor t, String what) {
    return () -> { };
  }

  @Override
  public void barrier(String what) {}

  @Override
  public double takeCommSeconds() {
    return 0;
  }

  @Override
  public void close() {}
}
