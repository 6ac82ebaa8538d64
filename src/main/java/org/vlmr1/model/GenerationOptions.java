// How the generation engine runs a batch (issue 15). The defaults are the fast engine; the other settings exist so the
// benchmark can run the old path beside it in one process and the tests can compare the two.
package org.vlmr1.model;

/**
 * @param compactFinished drop rows that emitted EOS from the batch (their KV cache rows, mask and decode offsets) once
 *     at least a quarter of the batch's rows have finished, so a long completion does not cost B rows per step
 * @param sampler where each step's ids are chosen
 * @param logitBias changes each step's logits before the choice, or null (none): benchmarks and tests force EOS with
 *     it so that rows finish at chosen lengths; runs never set it
 * @param pruneHead decode steps that choose among the top k ids (greedy, top-k sampling) compute exact logits only
 *     for the ids that can be among them, from a bf16 copy of a float32 CPU head with a proven bound
 *     (org.vlmr1.kernels.PrunedHead): the same ids, half the head's bytes per step. Off by default (measured no
 *     faster end to end on this project's machine); {@code -Dvlmr1.prunedHead=true} turns it on everywhere
 */
public record GenerationOptions(boolean compactFinished, Sampler sampler, LogitBias logitBias, boolean pruneHead) {
  /** The engine: finished rows leave the batch, ids chosen on the logits' device. */
  public static final GenerationOptions DEFAULT = new GenerationOptions(true, Sampler.TENSOR, null, false);

  /** The path before issue 15 (with a growing cache and per-row prompts from the caller): every row to the end. */
  public static final GenerationOptions OLD_PATH = new GenerationOptions(false, Sampler.JAVA, null, false);

  public GenerationOptions {
    if (sampler == null) {
      throw new IllegalArgumentException("sampler must not be null");
    }
  }

  /** Where the next token of every row is chosen; both pick the same id from the same logits (TensorSamplerTest). */
  public enum Sampler {
    /** {@link TensorSampler} on the (B, V) logits where they are: only B ids reach Java. */
    TENSOR,
    /** {@link TokenSampler} on Java copies of the (B, V) logits: the reference, and the old path's cost. */
    JAVA
  }

  /** Changes a step's logits before the ids are chosen (a test and benchmark hook). */
  @FunctionalInterface
  public interface LogitBias {
    /**
     * @param logits (B', V) of the rows in the batch
     * @param rows the completion row of each batch row (B' entries)
     * @param position the completion position the logits choose
     * @return the logits to choose from, (B', V), same dtype and device
     */
    org.bytedeco.pytorch.Tensor apply(org.bytedeco.pytorch.Tensor logits, int[] rows, int position);

    /**
     * Ids that {@link #apply} overwrites in every row on every call, with values that depend on neither the logits
     * nor other ids (a forced or forbidden EOS), and no others that it changes; else null (the default: any change).
     * With a list the decode loop keeps its pruned LM head (org.vlmr1.kernels.PrunedHead), applying the bias to
     * approximate logits and taking those columns as exact, so a listed id that a call leaves alone would pass an
     * approximate logit as exact.
     */
    default long[] overwrittenIds() {
      return null;
    }
  }

  public GenerationOptions withCompactFinished(boolean on) {
    return new GenerationOptions(on, sampler, logitBias, pruneHead);
  }

  public GenerationOptions withLogitBias(LogitBias bias) {
    return new GenerationOptions(compactFinished, sampler, bias, pruneHead);
  }

  public GenerationOptions withPruneHead(boolean on) {
    return new GenerationOptions(compactFinished, sampler, logitBias, on);
  }
}
