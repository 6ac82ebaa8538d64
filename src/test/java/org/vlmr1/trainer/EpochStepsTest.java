// The epoch-to-steps rule of VLM-R1's pins, on literal values (issue 12): the old rule ignored processes and mu.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class EpochStepsTest {
  @Test
  void literalCases() {
    assertEquals(100, EpochSteps.maxSteps(200, 4, 1, 8, 1, 1, 1.0));
    assertEquals(50, EpochSteps.maxSteps(200, 4, 1, 8, 2, 1, 1.0), "two processes halve the steps");
    assertEquals(200, EpochSteps.maxSteps(200, 4, 2, 8, 1, 1, 1.0), "num_iterations 2 doubles them");
    assertEquals(2, EpochSteps.maxSteps(10, 4, 1, 8, 2, 2, 1.5), "ceil, floor, max(1, .) and ceil(E * U)");
    assertEquals(1, EpochSteps.maxSteps(3, 2, 1, 8, 1, 4, 0.5), "at least one update per epoch");
    assertEquals(13, EpochSteps.maxSteps(50, 8, 1, 8, 1, 2, 0.5), "ceil(0.5 * 25)");
  }

  @Test
  void refusesNonPositiveSizes() {
    assertThrows(IllegalArgumentException.class, () -> EpochSteps.maxSteps(0, 4, 1, 8, 1, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> EpochSteps.maxSteps(10, 4, 1, 8, 1, 1, 0));
  }
}
