// Where the trainer is in the RepeatRandomSampler's stream: the current epoch's order and the next position. A
// checkpoint records (epoch, cursor); the order itself is recomputed from the seed on resume.
package org.vlmr1.trainer;

import java.util.ArrayList;
import java.util.List;

/** The data position of a run. Not thread-safe. */
final class SamplerCursor {
  private final int datasetSize;
  private final GrpoConfig cfg;
  private List<Integer> order = List.of();
  private int cursor;
  private int epoch;

  SamplerCursor(int datasetSize, GrpoConfig cfg) {
    this.datasetSize = datasetSize;
    this.cfg = cfg;
  }

  /** The next {@code n} dataset indices, starting a new seeded epoch whenever one runs out. */
  List<Integer> next(int n) {
    List<Integer> out = new ArrayList<>(n);
    while (out.size() < n) {
      if (cursor >= order.size()) {
        order = RepeatRandomSampler.epoch(datasetSize, cfg.numGenerations(), cfg.promptsPerGeneration(),
            cfg.numIterations(), cfg.seed(), epoch++);
        cursor = 0;
      }
      out.add(order.get(cursor++));
    }
    return out;
  }

  /** Epochs started so far. */
  int epoch() {
    return epoch;
  }

  /** Position in the current epoch's order. */
  int cursor() {
    return cursor;
  }

  /** Continues from a recorded position (the epoch's order is regenerated from the seed). */
  void restore(int epochsStarted, int position) {
    epoch = epochsStarted;
    cursor = position;
    order = epoch == 0 ? List.of() : RepeatRandomSampler.epoch(datasetSize, cfg.numGenerations(),
        cfg.promptsPerGeneration(), cfg.numIterations(), cfg.seed(), epoch - 1);
  }
}
