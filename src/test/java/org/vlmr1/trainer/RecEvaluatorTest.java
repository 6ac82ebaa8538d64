// VLM-R1's test_rec_r1.py box extraction, as RecEvaluator reads completions.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

class RecEvaluatorTest {
  @Test
  void evaluatorParsesBoxesLikeTestRecR1() {
    assertArrayEquals(new double[] {1, 2, 3, 4},
        RecEvaluator.box("<think>x</think><answer>{\"bbox_2d\": [1, 2, 3, 4]}</answer>"));
    assertArrayEquals(new double[] {0, 0, 0, 0}, RecEvaluator.box("<answer>[1, 2, 3, 4]</answer>"),
        "braces are required, else [0, 0, 0, 0]");
    assertArrayEquals(new double[] {0, 0, 0, 0}, RecEvaluator.box("no answer"));
  }
}
