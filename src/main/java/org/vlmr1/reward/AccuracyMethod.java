// The per-example accu_reward_method values of VLM-R1's accuracy reward (VLM-R1-SPEC.md 3.3).
package org.vlmr1.reward;

import java.util.Arrays;
import java.util.List;

/** How {@code accuracy} scores an example; unknown names fall back to {@link #DEFAULT}, as VLM-R1 does. */
public enum AccuracyMethod {
  DEFAULT("default"),
  MCQ("mcq"),
  YES_NO("yes_no"),
  LLM("llm"),
  MAP("map"),
  OD_AP("od_ap"),
  OD_AP50("od_ap50"),
  OD_LENGTH("odLength"),
  WEIGHTED_SUM("weighted_sum"),
  MATH("math"),
  ALL_MATCH("all_match");

  private final String key;

  AccuracyMethod(String key) {
    this.key = key;
  }

  /** The spelling used in data files. */
  public String key() {
    return key;
  }

  /** The method for an {@code accu_reward_method} value; null and unknown values mean {@link #DEFAULT}. */
  public static AccuracyMethod of(String value) {
    if (value != null) {
      for (AccuracyMethod m : values()) {
        if (m.key.equals(value)) {
          return m;
        }
      }
    }
    return DEFAULT;
  }

  /**
   * Whether {@link #of} finds a method for {@code value} other than by falling back to {@code default} (null is
   * {@code default} itself): exact keys only, so {@code od_length} or {@code MCQ} are unknown, as in VLM-R1.
   */
  public static boolean known(String value) {
    return value == null || Arrays.stream(values()).anyMatch(m -> m.key.equals(value));
  }

  /** Every key, in declaration order (for messages). */
  public static List<String> keys() {
    return Arrays.stream(values()).map(AccuracyMethod::key).toList();
  }
}
