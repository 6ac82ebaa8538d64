// The collectives the trainer needs from a data-parallel group. A single process has a trivial implementation, so
// the trainer's seams (gathered rewards, reduced gradients and metrics, rank 0 writing) run the same code either way.
package org.vlmr1.distributed;

import org.bytedeco.pytorch.Tensor;

/** A process group. Every call is collective: all ranks make it, in the same order. */
public interface Collectives extends AutoCloseable {
  int rank();

  int worldSize();

  default boolean isMain() {
    return rank() == 0;
  }

  /**
   * Sums a contiguous CPU tensor across ranks, in place (every rank ends with the same bytes).
   *
   * @param what names the operation in a timeout or peer-failure error
   */
  void allReduceSum(Tensor t, String what);

  /**
   * Starts summing {@code t} across ranks in place and returns at once; the sum is there after {@link Pending#await}.
   * Until then the caller must not touch {@code t}. Ranks must start the same collectives in the same order.
   */
  Pending allReduceSumAsync(Tensor t, String what);

  /** A collective in flight. */
  interface Pending {
    /** Blocks until the collective completed (or fails like the synchronous call). */
    void await();
  }

  /** Waits until every rank arrives. */
  void barrier(String what);

  /** Seconds spent in collectives since the last call (for the step-time breakdown). */
  double takeCommSeconds();

  @Override
  void close();
}
