// LoRA adapters on disk in PEFT's layout (PeftModel.save_pretrained of a LoraConfig): adapter_model.safetensors with
// base_model.model.<module>.lora_A.weight (r, in) and .lora_B.weight (out, r), plus base_model.model.<parameter> for
// the modules_to_save copies, and adapter_config.json, so PEFT's PeftModel.from_pretrained(base, dir) loads what
// vlmr1 trained, and vlmr1 resumes from it bit for bit.
package org.vlmr1.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.util.Json;

/** Writes and reads an adapter folder. */
public final class LoraCheckpoint {
  public static final String WEIGHTS = "adapter_model.safetensors";
  public static final String CONFIG = "adapter_config.json";
  private static final String A = ".lora_A.weight";
  private static final String B = ".lora_B.weight";

  private LoraCheckpoint() {}

  /** Whether {@code dir} holds an adapter (rather than full weights). */
  public static boolean isAdapter(Path dir) {
    return Files.isRegularFile(dir.resolve(CONFIG)) && Files.isRegularFile(dir.resolve(WEIGHTS));
  }

  /**
   * Writes the two files into {@code dir}.
   *
   * @param baseModel the base model's name or path (PEFT's base_model_name_or_path), or null
   */
  public static void save(LoraAdapters adapters, String baseModel, Path dir) throws IOException {
    Files.createDirectories(dir);
    SafeTensorsWriter.write(dir.resolve(WEIGHTS), adapters.namedParameters());
    Files.writeString(dir.resolve(CONFIG), Json.write(config(adapters, baseModel)));
  }

  /**
   * adapter_config.json's fields as PEFT's LoraConfig writes them for TRL's get_peft_config: bias none, no rsLoRA or
   * DoRA, inference_mode true (save_pretrained sets it for the saved copy). target_modules: the explicit list, or
   * the module names VLM-R1's rule chose (the trainer overwrites target_modules with them too).
   */
  static Map<String, Object> config(LoraAdapters adapters, String baseModel) {
    LoraConfig c = adapters.config();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("alpha_pattern", Map.of());
    m.put("base_model_name_or_path", baseModel);
    m.put("bias", "none");
    m.put("fan_in_fan_out", false);
    m.put("inference_mode", true);
    m.put("init_lora_weights", true);
    m.put("layers_pattern", null);
    m.put("layers_to_transform", null);
    m.put("lora_alpha", c.alpha() == Math.rint(c.alpha()) ? (Object) (long) c.alpha() : (Object) c.alpha());
    m.put("lora_dropout", c.dropout());
    m.put("modules_to_save", c.modulesToSave());
    m.put("peft_type", "LORA");
    m.put("r", c.r());
    m.put("rank_pattern", Map.of());
    m.put("revision", null);
    m.put("target_modules", c.targetModules() != null ? c.targetModules() : adapters.modules());
    m.put("task_type", c.taskType().name());
    m.put("use_dora", false);
    m.put("use_rslora", false);
    return m;
  }

  /**
   * Reads an adapter folder written here or by PEFT (LoRA, bias none, no rsLoRA/DoRA/patterns). The adapters' own
   * target list is the explicit one when the config's entries are not all module names of the file.
   */
  public static LoraAdapters read(Path dir) throws IOException {
    Map<String, Object> cfg = Json.readObject(dir.resolve(CONFIG));
    require(dir, "LORA".equals(cfg.get("peft_type")), "peft_type " + cfg.get("peft_type") + " is not LORA");
    require(dir, "none".equals(cfg.getOrDefault("bias", "none")), "bias " + cfg.get("bias") + " is not none");
    for (String off : List.of("use_rslora", "use_dora", "fan_in_fan_out")) {
      require(dir, !Boolean.TRUE.equals(cfg.get(off)), off + " is not supported");
    }
    for (String empty : List.of("rank_pattern", "alpha_pattern")) {
      require(dir, !(cfg.get(empty) instanceof Map<?, ?> p) || p.isEmpty(), empty + " is not supported");
    }
    SafeTensorsFile st = SafeTensorsFile.open(dir.resolve(WEIGHTS));
    try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope()) {
      return read(dir, cfg, st);
    }
  }

  private static LoraAdapters read(Path dir, Map<String, Object> cfg, SafeTensorsFile st) throws IOException {
    List<String> toSave = stringList(dir, cfg, "modules_to_save");
    Map<String, Tensor[]> byModule = new TreeMap<>();
    Map<String, Tensor> copies = new TreeMap<>();
    for (String key : st.entries().keySet()) {
      boolean isA = key.endsWith(A);
      boolean lora = isA || key.endsWith(B);
      require(dir, key.startsWith(LoraAdapters.PEFT_PREFIX) && (lora || toSave != null), "unexpected tensor " + key
          + " (expected " + LoraAdapters.PEFT_PREFIX + "<module>" + A + " or " + B
          + (toSave == null ? "; modules_to_save is null" : "") + ")");
      String dtype = st.entry(key).dtype();
      require(dir, List.of("F32", "BF16", "F16", "F64").contains(dtype), WEIGHTS + ": " + key + " is " + dtype
          + ", not a floating-point tensor");
      Tensor t = Weights.tensor(st, key);
      if (lora) {
        String module = key.substring(LoraAdapters.PEFT_PREFIX.length(), key.length() - A.length());
        byModule.computeIfAbsent(module, k -> new Tensor[2])[isA ? 0 : 1] = t;
      } else {
        // PEFT saves a modules_to_save copy as base_model.model.<module>.<parameter> (its wrapper's names dropped);
        // a state dict taken from the live model still has them (<module>.modules_to_save.default.<parameter>)
        copies.put(key.substring(LoraAdapters.PEFT_PREFIX.length()).replace(".modules_to_save.default.", "."), t);
      }
    }
    require(dir, toSave == null || !copies.isEmpty(), "modules_to_save " + toSave + " but no trained copy of them");
    // vlmr1 never trains an adapter without a LoRA layer (no target left is an error), and PEFT writes at least one
    require(dir, !byModule.isEmpty(), WEIGHTS + " holds no " + A + " / " + B + " tensor: no LoRA layer to load");
    for (Map.Entry<String, Tensor[]> e : byModule.entrySet()) {
      require(dir, e.getValue()[0] != null && e.getValue()[1] != null, e.getKey() + " lacks lora_A or lora_B");
    }
    // PEFT may also write target_modules as one regex string: then the file's module names are the targets
    List<String> targets = cfg.get("target_modules") instanceof List<?> ? stringList(dir, cfg, "target_modules")
        : null;
    boolean ruleChosen = targets != null && new java.util.TreeSet<>(targets).equals(byModule.keySet());
    Object r = cfg.get("r");
    require(dir, (r instanceof Long || r instanceof Integer) && ((Number) r).longValue() > 0
        && ((Number) r).longValue() <= Integer.MAX_VALUE, CONFIG + ": r must be a positive integer, got " + shown(r));
    LoraConfig lc;
    try {
      lc = new LoraConfig(((Number) r).intValue(), number(dir, cfg, "lora_alpha", null),
          number(dir, cfg, "lora_dropout", 0.0),
          LoraConfig.TaskType.parse(String.valueOf(cfg.getOrDefault("task_type", "CAUSAL_LM"))),
          ruleChosen ? null : targets, toSave);
    } catch (IllegalArgumentException e) {
      throw new IOException(dir.resolve(CONFIG) + ": " + e.getMessage(), e);
    }
    return LoraAdapters.of(lc, byModule, copies);
  }

  /** A config field that is a list of names (or a single name, as PEFT also accepts), or null. */
  private static List<String> stringList(Path dir, Map<String, Object> cfg, String field) throws IOException {
    Object v = cfg.get(field);
    if (v == null) {
      return null;
    }
    if (v instanceof String one) {
      return List.of(one);
    }
    require(dir, v instanceof List<?> l && l.stream().allMatch(String.class::isInstance), field + " must be a list of "
        + "module names, got " + v);
    List<String> out = new ArrayList<>();
    ((List<?>) v).forEach(x -> out.add((String) x));
    return out;
  }

  /** A number field of adapter_config.json ({@code dflt} when absent or null; required when {@code dflt} is null). */
  private static double number(Path dir, Map<String, Object> cfg, String key, Double dflt) throws IOException {
    Object v = cfg.get(key);
    if (v == null && dflt != null) {
      return dflt;
    }
    require(dir, v instanceof Number, CONFIG + ": " + key + " must be a number, got " + shown(v));
    return ((Number) v).doubleValue();
  }

  /** A config value as JSON shows it (a string quoted, so that "4" is not mistaken for 4). */
  private static String shown(Object v) {
    return v instanceof String str ? "\"" + str + "\"" : String.valueOf(v);
  }

  private static void require(Path dir, boolean ok, String what) throws IOException {
    if (!ok) {
      throw new IOException(dir + ": " + what);
    }
  }
}
