// Optimizer steps for --num_train_epochs when --max_steps is -1, as VLM-R1's pins compute them (transformers 4.49's
// Trainer over TRL 0.17's RepeatSampler): the sampler yields every example G x mu times, each process gets its
// share of the per-device batches, and an update takes gradient_accumulation_steps of them.
package org.vlmr1.trainer;

/** The epoch-to-steps rule. */
public final class EpochSteps {
  private EpochSteps() {}

  /**
   * max_steps = ceil(E * U), U = max(1, floor(L / gas)), L = ceil(ceil(N * G * mu / b) / W).
   *
   * @param examples N, examples in the dataset
   * @param numGenerations G
   * @param numIterations mu (TRL's num_iterations: the sampler repeats each batch mu times)
   * @param perDeviceBatch b, completions per micro-batch
   * @param worldSize W, processes
   * @param gradientAccumulationSteps gas
   * @param epochs E (may be fractional)
   */
  public static int maxSteps(int examples, int numGenerations, int numIterations, int perDeviceBatch, int worldSize,
      int gradientAccumulationSteps, double epochs) {
    if (examples < 1 || numGenerations < 1 || numIterations < 1 || perDeviceBatch < 1 || worldSize < 1
        || gradientAccumulationSteps < 1) {
      throw new IllegalArgumentException("epoch length needs positive sizes, got N=" + examples + " G="
          + numGenerations + " mu=" + numIterations + " b=" + perDeviceBatch + " W=" + worldSize + " gas="
          + gradientAccumulationSteps);
    }
    if (!(epochs > 0) || Double.isInfinite(epochs)) {
      throw new IllegalArgumentException("num_train_epochs must be > 0, got " + epochs);
    }
    long samples = (long) examples * numGenerations * numIterations;        // the sampler's length
    long batches = ceilDiv(samples, perDeviceBatch);                           // the dataloader's length
    long perProcess = ceilDiv(batches, worldSize);                             // accelerate splits the batches
    long updates = Math.max(1, perProcess / gradientAccumulationSteps);      // num_update_steps_per_epoch
    double steps = Math.ceil(epochs * updates);
    if (steps > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("num_train_epochs " + epochs + " gives " + steps + " steps");
    }
    return (int) steps;
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }
}
