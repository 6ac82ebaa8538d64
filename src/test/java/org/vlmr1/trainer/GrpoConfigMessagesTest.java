// GrpoConfig's refusals name the flag (TRL's name, as the train command spells it) and the value given.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class GrpoConfigMessagesTest {
  private static String refusal(Consumer<GrpoConfig.Builder> set) {
    GrpoConfig.Builder b = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(2);
    set.accept(b);
    return assertThrows(IllegalArgumentException.class, b::build).getMessage();
  }

  /** Old code: "GrpoConfig: beta must be >= 0", "max_grad_norm > 0, max_completion_length >= 1 and ..." (no value). */
  @Test
  void namesTheFlagAndTheValue() {
    assertEquals("--beta must be >= 0 (0: no KL term), got -1.0", refusal(b -> b.beta(-1)));
    assertEquals("--epsilon must be in [0, 1), got 1.5", refusal(b -> b.epsilon(1.5)));
    assertEquals("--num_iterations must be >= 1, got 0", refusal(b -> b.numIterations(0)));
    assertEquals("--learning_rate must be a finite number >= 0, got -0.1", refusal(b -> b.learningRate(-0.1)));
    assertEquals("--warmup_ratio must be in [0, 1], got 2.0", refusal(b -> b.warmupRatio(2)));
    assertEquals("--max_grad_norm must be > 0, got 0.0", refusal(b -> b.maxGradNorm(0)));
    assertEquals("--max_completion_length must be >= 1, got 0", refusal(b -> b.maxCompletionLength(0)));
    assertEquals("--temperature must be a finite number > 0, got 0.0", refusal(b -> b.temperature(0)));
    assertEquals("--top_k must be >= 0 (0: off), got -3", refusal(b -> b.topK(-3)));
    assertEquals("--top_p must be in (0, 1], got 1.5", refusal(b -> b.topP(1.5)));
    assertEquals("--logging_steps must be >= 1, got 0", refusal(b -> b.loggingSteps(0)));
    assertEquals("--gradient_accumulation_steps must be >= 1, got 0",
        refusal(b -> b.gradientAccumulationSteps(0).stepsPerGeneration(1)));
    assertEquals("--num_generations must be >= 2 (group statistics need two completions), got 1",
        refusal(b -> b.numGenerations(1)));
  }
}
