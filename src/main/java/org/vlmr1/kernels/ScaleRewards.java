// How group advantages are scaled: TRL's scale_rewards (ANCHORS.md 1.2).
package org.vlmr1.kernels;

import java.util.Arrays;
import java.util.Locale;

/** Reward scaling of the group advantages. VLM-R1 uses {@link #GROUP}. */
public enum ScaleRewards {
  /** (r - group mean) / (group std + 1e-4), unbiased std. */
  GROUP(0),
  /** (r - group mean) / (std of the whole batch given + 1e-4). */
  BATCH(1),
  /** r - group mean (Dr. GRPO). */
  NONE(2);

  final int code;

  ScaleRewards(int code) {
    this.code = code;
  }

  /**
   * Parses {@code group}, {@code batch}, {@code none}, and TRL's booleans in Hugging Face's string_to_bool words (TRL
   * 0.17's scale_rewards is a bool): true / yes / y / t / 1 = group, false / no / n / f / 0 = none, any case.
   */
  public static ScaleRewards parse(String name) {
    String key = name.trim().toUpperCase(Locale.ROOT);
    switch (key) {
      case "TRUE": case "YES": case "Y": case "T": case "1": return GROUP;
      case "FALSE": case "NO": case "N": case "F": case "0": return NONE;
      default:
        for (ScaleRewards s : values()) {
          if (s.name().equals(key)) {
            return s;
          }
        }
        throw new IllegalArgumentException("unknown scale_rewards '" + name + "'; expected one of "
            + Arrays.toString(values()).toLowerCase(Locale.ROOT) + " or a boolean (true = group, false = none)");
    }
  }
}
