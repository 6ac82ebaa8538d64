// Which linear layers get LoRA adapters: VLM-R1's rule (grpo_trainer.py's target_modules overwrite) or PEFT's
// suffix matching of an explicit --lora_target_modules list.
package org.vlmr1.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Target selection over a model's linear modules (module path -> (out, in)). */
public final class LoraTargets {
  private LoraTargets() {}

  /**
   * The targeted modules in name order.
   *
   * <p>Without a list: every linear module whose name contains no vision keyword and not {@code embed_tokens} (so
   * {@code lm_head} and InternVL's {@code mlp1.*} are in). With a list: PEFT's rule, a module matches a target t when
   * its name is t or ends with "." + t, among the modules outside the vision modules as VLM-R1's rule keeps them
   * (Qwen2.5-VL's vision blocks also have gate_proj etc.: those stay adapter-free); a target that matches nothing, or
   * only vision modules, is refused (adapters in the vision tower are not implemented: the frozen tower's features are
   * shared between the policy and reference passes).
   *
   * @param linear every linear module of the model, path (transformers 4.49 layout) -> (out, in)
   */
  public static Map<String, long[]> select(Map<String, long[]> linear, List<String> visionKeywords,
      List<String> targets) {
    Map<String, long[]> out = new TreeMap<>();
    if (targets == null) {
      linear.forEach((name, shape) -> {
        if (!name.contains("embed_tokens") && visionKeywords.stream().noneMatch(name::contains)) {
          out.put(name, shape);
        }
      });
      return out;
    }
    List<String> unmatched = new ArrayList<>();
    for (String t : targets) {
      List<String> vision = new ArrayList<>();
      boolean found = false;
      for (Map.Entry<String, long[]> e : linear.entrySet()) {
        String name = e.getKey();
        if (name.equals(t) || name.endsWith("." + t)) {
          if (visionKeywords.stream().anyMatch(name::contains)) {
            vision.add(name);
          } else {
            out.put(name, e.getValue());
            found = true;
          }
        }
      }
      if (!found && !vision.isEmpty()) {
        throw new IllegalArgumentException("lora_target_modules entry " + t + " matches only modules inside the "
            + "vision modules " + visionKeywords + " (" + vision.get(0) + (vision.size() > 1 ? ", ..." : "")
            + "): LoRA inside the vision tower is not implemented yet");
      }
      if (!found) {
        unmatched.add(t);
      }
    }
    if (!unmatched.isEmpty()) {
      throw new IllegalArgumentException("lora_target_modules " + unmatched + " match no linear layer of the model "
          + "(PEFT's rule: the module name, or a suffix after a dot; e.g. q_proj, self_attn.q_proj, lm_head)");
    }
    return out;
  }
}
