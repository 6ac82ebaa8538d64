// Which linear layers get LoRA adapters: VLM-R1's rule (grpo_trainer.py's target_modules overwrite) or PEFT's
// suffix matching of an explicit --lora_target_modules list.
package org.vlmr1.model;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

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
    return select(linear, visionKeywords, targets, Set.of());
  }

  /**
   * {@link #select} without the modules that train in full ({@code saved}, from {@link #modulesToSave}) and anything
   * inside them: PEFT wraps a modules_to_save match instead of adapting it.
   */
  public static Map<String, long[]> select(Map<String, long[]> linear, List<String> visionKeywords,
      List<String> targets, Collection<String> saved) {
    Map<String, long[]> out = selectAll(linear, visionKeywords, targets);
    out.keySet().removeIf(m -> saved.stream().anyMatch(s -> m.equals(s) || m.startsWith(s + ".")));
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no LoRA target is left: every targeted linear layer is in "
          + "lora_modules_to_save " + new TreeSet<>(saved) + " (those train in full)");
    }
    return out;
  }

  /**
   * PEFT's modules_to_save matching: every module whose path ends with an entry (plain suffix, as PEFT's
   * {@code key.endswith(name)}). An entry that matches any module inside the vision modules is refused (a frozen
   * tower's features are shared by the policy and reference passes, so copies there are not implemented, and copying
   * only the rest would train something else than PEFT), as is one matching nothing.
   *
   * @param paramKeys the model's floating parameter names, module path + "." + parameter name (transformers 4.49
   *     layout)
   * @param tiedHead the tied LM head's module path (a module of its own in transformers, holding no tensor of the
   *     checkpoint), or null when the head is untied
   * @param tiedEmbedding the embedding weight a tied head reads, or null when the head is untied
   * @return matched module path -> the parameter names that train in full (the tied head's: its path + ".weight")
   */
  public static Map<String, List<String>> modulesToSave(Collection<String> paramKeys, String tiedHead,
      String tiedEmbedding, List<String> visionKeywords, List<String> entries) {
    Map<String, List<String>> params = new TreeMap<>(); // every module path -> the parameters under it
    List<String> keys = new ArrayList<>(paramKeys);
    if (tiedHead != null) {
      keys.add(tiedHead + ".weight");
    }
    for (String k : keys) {
      for (int dot = k.indexOf('.'); dot > 0; dot = k.indexOf('.', dot + 1)) {
        params.computeIfAbsent(k.substring(0, dot), m -> new ArrayList<>()).add(k);
      }
    }
    Map<String, List<String>> out = new TreeMap<>();
    List<String> unmatched = new ArrayList<>();
    for (String t : entries) {
      List<String> vision = new ArrayList<>();
      boolean found = false;
      for (Map.Entry<String, List<String>> e : params.entrySet()) {
        String m = e.getKey();
        if (!m.endsWith(t)) {
          continue;
        }
        if (visionKeywords.stream().anyMatch(m::contains)) {
          vision.add(m);
        } else {
          out.put(m, List.copyOf(new TreeSet<>(e.getValue())));
          found = true;
        }
      }
      if (!vision.isEmpty()) {
        // PEFT would copy these too; leaving them out would train something else than asked, so refuse
        throw new IllegalArgumentException("lora_modules_to_save entry " + t + " matches " + (found ? "" : "only ")
            + "modules inside the vision modules " + visionKeywords + " (" + vision.get(0)
            + (vision.size() > 1 ? ", ..." : "") + "): trained copies inside the vision tower are not implemented yet"
            + (found ? " (give a longer suffix that names language-model modules only, e.g. layers.0.mlp)" : ""));
      }
      if (!found) {
        unmatched.add(t);
      }
    }
    if (!unmatched.isEmpty()) {
      throw new IllegalArgumentException("lora_modules_to_save " + unmatched + " match no module of the model "
          + "(PEFT's rule: a module path ending with the entry; e.g. lm_head, embed_tokens, model.norm)");
    }
    // a module inside another matched one is covered by it: keep the outermost
    out.keySet().removeIf(m -> out.keySet().stream().anyMatch(o -> m.startsWith(o + ".")));
    for (Map.Entry<String, List<String>> e : out.entrySet()) {
      if (tiedHead != null && e.getValue().contains(tiedHead + ".weight") && e.getValue().contains(tiedEmbedding)) {
        // PEFT's deep copy would keep one tied matrix for both inside the copy; two copies here would drift apart
        throw new IllegalArgumentException("lora_modules_to_save entry " + e.getKey() + " holds both the tied LM head "
            + tiedHead + " and its embedding " + tiedEmbedding + ": a tied pair trained in full is not implemented "
            + "(list the head or the embedding alone)");
      }
    }
    return out;
  }

  private static Map<String, long[]> selectAll(Map<String, long[]> linear, List<String> visionKeywords,
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
