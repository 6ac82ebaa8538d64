// bin/vlmr1 init-tiny: a tiny random checkpoint of a family for tests and the demo, written by the family found in the
// registry for --family (a config.json model_type); the command names no family. --like NAME starts from a released
// model's sizes that a family offers (its tinyPresets), written as the hub ships them; size flags beside it override.
package org.vlmr1.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.vlmr1.module.ProcessingKeyword;
import org.vlmr1.module.TinySpec;
import org.vlmr1.module.VlmModuleProvider;
import org.vlmr1.module.VlmModules;

/** The init-tiny command. */
final class InitTinyCommand implements Command {
  @Override
  public String name() {
    return "init-tiny";
  }

  @Override
  public String summary() {
    return "write a tiny random checkpoint (Hugging Face layout, real vocabulary and tokenizer) for tests and demos";
  }

  @Override
  public List<FlagSpec> flags() {
    TinySpec d = TinySpec.DEFAULTS;
    List<FlagSpec> out = new ArrayList<>(List.of(
        FlagSpec.value("family", "qwen2_5_vl", "model_type to create: " + String.join(", ", modelTypes())),
        FlagSpec.value("out", null, "output folder"), OutputFolder.OVERWRITE,
        FlagSpec.value("like", null, "a released model's widths in its hub layout (bf16 shards): "
            + String.join(", ", presets().keySet()) + "; size flags given beside it override its depths"),
        FlagSpec.value("hidden_size", String.valueOf(d.hiddenSize()), "decoder hidden size"),
        FlagSpec.value("num_layers", String.valueOf(d.numLayers()), "decoder layers"),
        FlagSpec.value("num_heads", String.valueOf(d.numHeads()), "attention heads"),
        FlagSpec.value("num_kv_heads", String.valueOf(d.numKvHeads()), "key/value heads"),
        FlagSpec.value("intermediate_size", String.valueOf(d.intermediateSize()), "decoder MLP size"),
        FlagSpec.value("vision_depth", String.valueOf(d.visionDepth()), "vision blocks"),
        FlagSpec.value("vision_hidden_size", String.valueOf(d.visionHidden()), "vision hidden size"),
        FlagSpec.value("seed", String.valueOf(d.seed()), "initialisation seed")));
    Map<String, String> options = new LinkedHashMap<>();
    for (VlmModuleProvider p : VlmModules.providers()) {
      for (ProcessingKeyword k : p.tinyOptions()) {
        options.merge(k.name(), String.join("/", p.modelTypes()) + ": " + k.help(), (a, b) -> a + "; " + b);
      }
    }
    options.forEach((name, help) -> out.add(FlagSpec.value(name, null, help)));
    return out;
  }

  /** Preset name to the family (model_type) that writes it and its sizes. */
  private static Map<String, TinySpec.Preset> presets() {
    Map<String, TinySpec.Preset> all = new java.util.TreeMap<>();
    VlmModules.providers().forEach(p -> all.putAll(p.tinyPresets()));
    return all;
  }

  private static TreeSet<String> modelTypes() {
    TreeSet<String> all = new TreeSet<>();
    VlmModules.providers().forEach(p -> all.addAll(p.modelTypes()));
    return all;
  }

  @Override
  public int run(Flags f) throws Exception {
    if (f.get("out") == null) {
      throw new UsageException("init-tiny needs --out DIR");
    }
    TinySpec.Preset like = null;
    if (f.has("like")) {
      like = presets().get(f.get("like"));
      if (like == null) {
        throw new UsageException("init-tiny --like " + f.get("like") + " is unknown; known: "
            + String.join(", ", presets().keySet()));
      }
    }
    String family = like != null && !f.has("family") ? like.modelType() : f.get("family");
    VlmModuleProvider provider = VlmModules.providers().stream().filter(p -> p.modelTypes().contains(family))
        .findFirst().orElseThrow(() -> new UsageException("init-tiny --family " + family + " is unknown; known: "
            + String.join(", ", modelTypes())));
    List<String> own = provider.tinyOptions().stream().map(ProcessingKeyword::name).toList();
    Map<String, String> options = new LinkedHashMap<>();
    for (VlmModuleProvider p : VlmModules.providers()) {
      for (ProcessingKeyword k : p.tinyOptions()) {
        if (f.has(k.name())) {
          if (!own.contains(k.name())) {
            throw new UsageException("--" + k.name() + " is not an init-tiny option of " + family);
          }
          options.put(k.name(), f.get(k.name()));
        }
      }
    }
    OutputFolder.check(Path.of(f.get("out")), f);
    TinySpec base = like != null ? like.sizes() : TinySpec.DEFAULTS;
    if (like != null) {
      options.putAll(base.options());
    }
    TinySpec spec = new TinySpec(size(f, "hidden_size", base.hiddenSize(), like), size(f, "num_layers",
        base.numLayers(), like), size(f, "num_heads", base.numHeads(), like), size(f, "num_kv_heads",
        base.numKvHeads(), like), size(f, "intermediate_size", base.intermediateSize(), like), size(f,
        "vision_depth", base.visionDepth(), like), size(f, "vision_hidden_size", base.visionHidden(), like),
        f.getLong("seed"), options);
    try {
      provider.writeTiny(family, spec, Path.of(f.get("out")));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    System.out.println("wrote a " + (like != null ? f.get("like") + "-shaped " : "tiny ") + family + " checkpoint to "
        + f.get("out"));
    return 0;
  }

  /** A size flag: the value given, else the preset's under --like, else the flag's default. */
  private static int size(Flags f, String name, int preset, TinySpec.Preset like) {
    return like == null || f.has(name) ? f.getInt(name) : preset;
  }
}
