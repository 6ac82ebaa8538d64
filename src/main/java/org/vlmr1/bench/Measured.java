// One benchmark row's prepared work: inputs allocated by the constructor, run() timed, close() frees.
package org.vlmr1.bench;

/** The work of one benchmark row, with its inputs already allocated. */
public interface Measured extends AutoCloseable {
  /** One timed execution (forward + backward for loss rows). */
  void run();

  /** Untimed, before each run: restores inputs that a run overwrites (e.g. logits replaced by their gradient). */
  default void reset() {}

  /** The minimum bytes the op must move (inputs read once, outputs written once); 0 when no floor applies. */
  default long floorBytes() {
    return 0;
  }

  /** Untimed, once, after the warm-up runs and before the timed ones (e.g. to reset per-run statistics). */
  default void timedRunsStart() {}

  /** Units of work per run for the throughput column (e.g. rows), in {@link #unit()}. */
  double workPerRun();

  /** Throughput unit, e.g. "rows/s". */
  String unit();

  /**
   * Figures a row measures besides its wall time (e.g. prefill ms, per-stage seconds, GC time), read after the timed
   * runs, printed under the row and handed to the suite's summary, in order; keys and values must not contain tabs,
   * ';' or '='.
   */
  default java.util.Map<String, String> extras() {
    return java.util.Map.of();
  }

  @Override
  void close();
}
