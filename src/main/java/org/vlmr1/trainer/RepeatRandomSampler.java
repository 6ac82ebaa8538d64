// VLM-R1's RepeatRandomSampler (VLM-R1-SPEC.md 4.2): a seeded permutation in chunks of prompts-per-step, each
// chunk repeated numIterations times, each index repeated G times consecutively.
package org.vlmr1.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** The order in which dataset indices become completions. */
public final class RepeatRandomSampler {
  private RepeatRandomSampler() {}

  /**
   * One epoch of indices. The permutation is a Fisher-Yates shuffle seeded with (seed, epoch) (not torch.randperm's
   * stream: the order is reproducible here, not identical to VLM-R1's); the partial last chunk is dropped.
   */
  public static List<Integer> epoch(int datasetSize, int numGenerations, int promptsPerStep, int numIterations,
      long seed, int epoch) {
    int[] perm = new int[datasetSize];
    for (int i = 0; i < datasetSize; i++) {
      perm[i] = i;
    }
    Random rnd = new Random(seed * 1_000_003L + epoch);
    for (int i = datasetSize - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    List<Integer> out = new ArrayList<>();
    for (int c = 0; c + promptsPerStep <= datasetSize; c += promptsPerStep) {
      for (int r = 0; r < numIterations; r++) {
        for (int k = c; k < c + promptsPerStep; k++) {
          for (int g = 0; g < numGenerations; g++) {
            out.add(perm[k]);
          }
        }
      }
    }
    return out;
  }
}
