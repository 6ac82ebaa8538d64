// HF Trainer's lr_scheduler_type values vlmr1 supports.
package org.vlmr1.trainer;

import java.util.Arrays;
import java.util.Locale;

/** Learning-rate schedules (after a linear warm-up of warmupRatio of the steps). VLM-R1 uses LINEAR. */
public enum LrSchedulerType {
  LINEAR, CONSTANT, COSINE;

  public static LrSchedulerType parse(String s) {
    for (LrSchedulerType t : values()) {
      if (t.name().equalsIgnoreCase(s.trim())) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown lr_scheduler_type '" + s + "'; expected one of "
        + Arrays.toString(values()).toLowerCase(Locale.ROOT));
  }

  /** The learning rate at optimizer step {@code step} (0-based) of {@code total}, as transformers' schedules. */
  public double lr(double base, long step, long total, double warmupRatio) {
    return lrAfterWarmup(base, step, total, warmupSteps(total, warmupRatio));
  }

  /** Warm-up steps from a ratio of {@code total}, rounded up (transformers' get_warmup_steps). */
  public static long warmupSteps(long total, double warmupRatio) {
    return (long) Math.ceil(total * warmupRatio);
  }

  /** {@link #lr} with the warm-up given in steps ({@code --warmup_steps}). */
  public double lrAfterWarmup(double base, long step, long total, long warmup) {
    if (step < warmup) {
      return base * step / Math.max(1, warmup);
    }
    double progress = (double) (step - warmup) / Math.max(1, total - warmup);
    switch (this) {
      case LINEAR: return base * Math.max(0.0, 1.0 - progress);
      case COSINE: return base * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
      default: return base;
    }
  }
}
