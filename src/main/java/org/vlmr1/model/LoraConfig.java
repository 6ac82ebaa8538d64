// LoRA hyper-parameters as TRL 0.17's ModelConfig gives them to PEFT's LoraConfig (VLM-R1-SPEC.md 4.1 step 3).
package org.vlmr1.model;

import java.util.List;

/**
 * What {@code --use_peft} adds to every targeted linear layer: y = x W^T + b + (alpha / r) (dropout(x) A^T) B^T, with A
 * (r, in) kaiming-uniform (a = sqrt 5) and B (out, r) zero. Bias "none", no rsLoRA, no DoRA (TRL's get_peft_config).
 *
 * @param r the rank (TRL default 16)
 * @param alpha lora_alpha (32); scaling = alpha / r
 * @param dropout dropout on the adapter's input in training passes (0.05), masks keyed by {@link LoraDropout}
 * @param taskType PEFT's task type (CAUSAL_LM)
 * @param targetModules module names or suffixes (PEFT's matching), or null for VLM-R1's rule: every linear layer
 *     outside the vision modules except embed_tokens
 * @param modulesToSave PEFT's modules_to_save (TRL's --lora_modules_to_save): modules that train in full as copies
 *     used while the adapters are on, matched by PEFT's rule (a module path ending with the entry); null for none
 */
public record LoraConfig(int r, double alpha, double dropout, TaskType taskType, List<String> targetModules,
    List<String> modulesToSave) {
  /** PEFT's TaskType values a causal language model can be wrapped as; vlmr1 trains CAUSAL_LM only. */
  public enum TaskType {
    CAUSAL_LM;

    /** Parses PEFT's spelling, naming the allowed values on a bad one. */
    public static TaskType parse(String s) {
      for (TaskType t : values()) {
        if (t.name().equalsIgnoreCase(s)) {
          return t;
        }
      }
      throw new IllegalArgumentException("lora_task_type must be one of " + List.of(values()) + ", got " + s);
    }
  }

  public static final int DEFAULT_R = 16;
  public static final double DEFAULT_ALPHA = 32;
  public static final double DEFAULT_DROPOUT = 0.05;

  public LoraConfig {
    if (r <= 0) {
      throw new IllegalArgumentException("lora_r must be positive, got " + r);
    }
    if (!(alpha > 0) || Double.isInfinite(alpha)) {
      throw new IllegalArgumentException("lora_alpha must be a positive number, got " + alpha);
    }
    if (!(dropout >= 0 && dropout < 1)) {
      throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + dropout);
    }
    if (taskType == null) {
      throw new IllegalArgumentException("lora_task_type is required");
    }
    if (targetModules != null) {
      if (targetModules.isEmpty() || targetModules.stream().anyMatch(t -> t == null || t.isBlank())) {
        throw new IllegalArgumentException("lora_target_modules must list module names, got " + targetModules);
      }
      targetModules = List.copyOf(targetModules);
    }
    if (modulesToSave != null) {
      if (modulesToSave.isEmpty() || modulesToSave.stream().anyMatch(t -> t == null || t.isBlank())) {
        throw new IllegalArgumentException("lora_modules_to_save must list module names, got " + modulesToSave);
      }
      modulesToSave = List.copyOf(modulesToSave);
    }
  }

  /** No modules_to_save. */
  public LoraConfig(int r, double alpha, double dropout, TaskType taskType, List<String> targetModules) {
    this(r, alpha, dropout, taskType, targetModules, null);
  }

  /** TRL 0.17's defaults: r 16, alpha 32, dropout 0.05, CAUSAL_LM, VLM-R1's target rule. */
  public static LoraConfig defaults() {
    return new LoraConfig(DEFAULT_R, DEFAULT_ALPHA, DEFAULT_DROPOUT, TaskType.CAUSAL_LM, null);
  }

  /** alpha / r (no rsLoRA). */
  public double scaling() {
    return alpha / r;
  }
}
