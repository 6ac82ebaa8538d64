// How the per-token GRPO losses of a micro-batch are aggregated: TRL's loss_type, exact normalisers in ANCHORS.md 1.2.
package org.vlmr1.kernels;

import java.util.Arrays;
import java.util.Locale;

/** GRPO loss aggregation. VLM-R1 uses {@link #GRPO}. */
public enum LossType {
  /** Per-sequence masked mean, then the mean over sequences (VLM-R1's default; length-biased). */
  GRPO(0),
  /** Sum over all unmasked tokens of the micro-batch / their number. */
  BNPO(1),
  /** Sum / (B * maxCompletionLength) with the configured length: a constant normaliser (Dr. GRPO). */
  DR_GRPO(2),
  /** Sum / dapoTokenCount: unmasked tokens of the whole optimizer step over all processes / processes (DAPO). */
  DAPO(3);

  final int code;

  LossType(int code) {
    this.code = code;
  }

  /** Parses TRL's spelling ({@code grpo}, {@code bnpo}, {@code dr_grpo}, {@code dapo}), case-insensitive. */
  public static LossType parse(String name) {
    String key = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    for (LossType t : values()) {
      if (t.name().equals(key)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown loss type '" + name + "'; expected one of "
        + Arrays.toString(values()).toLowerCase(Locale.ROOT));
  }
}
