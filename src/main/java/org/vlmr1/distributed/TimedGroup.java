// What every real process group shares: its coordinates, the time spent in collectives (for time/allreduce), and
// turning a transport failure into an error that names this rank, the operation and the timeout.
package org.vlmr1.distributed;

import java.util.function.Supplier;

/** Base of the Gloo and NCCL groups. */
abstract class TimedGroup implements Collectives {
  protected final DistEnv env;
  private long commNanos;

  TimedGroup(DistEnv env) {
    this.env = env;
  }

  /** Runs one collective step, timed, with failures named. */
  protected final <T> T timed(String what, Supplier<T> op) {
    long t0 = System.nanoTime();
    try {
      return op.get();
    } catch (RuntimeException e) {
      throw new DistributedException("rank " + env.rank() + " of " + env.worldSize() + ": " + what + " failed (a peer "
          + "died or did not answer within the " + env.timeout().toSeconds() + " s timeout): " + e.getMessage(), e);
    } finally {
      commNanos += System.nanoTime() - t0;
    }
  }

  /** {@link #timed} for a step without a result. */
  protected final void timedRun(String what, Runnable op) {
    timed(what, () -> {
      op.run();
      return null;
    });
  }

  @Override
  public int rank() {
    return env.rank();
  }

  @Override
  public int worldSize() {
    return env.worldSize();
  }

  @Override
  public double takeCommSeconds() {
    double s = commNanos / 1e9;
    commNanos = 0;
    return s;
  }
}
