// How a GRPO round's completions are generated (issue 15): rows per generation call, whether the G rows of a prompt
// share one prefill, and the engine's own options. The defaults are the fast engine; the benchmark sets the old path
// to time a step's generation before and after.
package org.vlmr1.trainer;

import org.vlmr1.model.GenerationOptions;

/**
 * @param maxGenerationRows the most completion rows one generation call decodes together (--max_generation_rows; 0 =
 *     the whole micro-batch): a micro-batch is generated in consecutive slices of at most this many rows, which caps
 *     the KV cache and the step's activations; prompts are shared within a slice
 * @param sharePrompts prefill each distinct prompt of a slice once (vision modules included) and give its rows copies
 *     of its KV prefix; off, every row prefills its own copy of the prompt (the path before issue 15)
 * @param engine the generation engine's options (sampler, compaction of finished rows)
 */
public record RolloutOptions(int maxGenerationRows, boolean sharePrompts, GenerationOptions engine) {
  /** The fast engine, no row cap. */
  public static final RolloutOptions DEFAULT = new RolloutOptions(0, true, GenerationOptions.DEFAULT);

  public RolloutOptions {
    if (maxGenerationRows < 0) {
      throw new IllegalArgumentException("--max_generation_rows must be >= 0 (0: the whole micro-batch), got "
          + maxGenerationRows);
    }
    if (engine == null) {
      throw new IllegalArgumentException("the generation engine's options must be set");
    }
  }

  /** The path before issue 15: every row prefills its prompt, the Java sampler, every row decodes to the end. */
  public static RolloutOptions oldPath() {
    return new RolloutOptions(0, false, GenerationOptions.OLD_PATH);
  }

  public RolloutOptions withMaxGenerationRows(int rows) {
    return new RolloutOptions(rows, sharePrompts, engine);
  }
}
