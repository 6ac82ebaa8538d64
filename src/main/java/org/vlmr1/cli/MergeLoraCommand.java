// bin/vlmr1 merge-lora: a base checkpoint plus a LoRA adapter folder (PEFT's layout, from a --use_peft run) written as
// merged full weights in the Hugging Face layout (PEFT's merge_and_unload + save_pretrained), for eval, vLLM or
// transformers without PEFT.
package org.vlmr1.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.vlmr1.model.DecoderVlModel;
import org.vlmr1.model.LoraAdapters;
import org.vlmr1.model.LoraCheckpoint;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.HubCache;
import org.vlmr1.module.VlmModule;

/** The merge-lora command. */
final class MergeLoraCommand implements Command {
  @Override
  public String name() {
    return "merge-lora";
  }

  @Override
  public String summary() {
    return "merge a LoRA adapter folder into its base model: full weights W + (alpha / r) B A (and any "
        + "modules_to_save copies) in the Hugging Face layout";
  }

  @Override
  public List<FlagSpec> flags() {
    return List.of(
        FlagSpec.value("model", null, "the base checkpoint the adapters were trained on (folder or cached hub id)"),
        FlagSpec.value("adapter", null, "adapter folder: adapter_config.json + adapter_model.safetensors (a --use_peft "
            + "checkpoint-N)"),
        FlagSpec.value("out", null, "output folder"), OutputFolder.OVERWRITE,
        FlagSpec.value("vlm", null, "family override (qwen, internvl); default: config.json's model_type"));
  }

  @Override
  public int run(Flags f) throws Exception {
    ModelCommands.need(f, "model", "adapter", "out");
    Path base = HubCache.resolve(f.get("model"), f.env());
    Path adapter = Path.of(f.get("adapter"));
    Path out = Path.of(f.get("out"));
    if (!LoraCheckpoint.isAdapter(adapter)) {
      throw new UsageException(adapter + " holds no " + LoraCheckpoint.CONFIG + " and " + LoraCheckpoint.WEIGHTS);
    }
    OutputFolder.check(out, f);
    VlmModule module = ModelCommands.module(f, base);
    try (VlmModel model = module.loadModel(base)) {
      if (!(model instanceof DecoderVlModel dm)) {
        throw new UsageException(model.getClass().getSimpleName() + " cannot merge LoRA adapters");
      }
      LoraAdapters a = LoraCheckpoint.read(adapter);
      try {
        dm.attachLora(a);
      } catch (IllegalArgumentException e) {
        a.close();
        throw new UsageException(adapter + " does not fit " + base + ": " + e.getMessage());
      }
      int layers = a.modules().size();
      List<String> copies = a.savedParameters();
      boolean untied = dm.mergeLora();
      dm.save(out);
      if (untied) {
        untie(out.resolve("config.json"));
      }
      System.out.println("merged " + layers + " LoRA layers (r " + a.config().r() + ", alpha " + a.config().alpha()
          + ")" + (copies.isEmpty() ? "" : " and the trained copies of " + copies + " (modules_to_save)") + " into "
          + out + (untied ? "; the tied LM head became lm_head.weight of its own (tie_word_embeddings false)" : ""));
    }
    return 0;
  }

  /** tie_word_embeddings false at the top level and in a text_config or llm_config, where config.json has one. */
  private static void untie(Path config) throws java.io.IOException {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    JsonNode root = json.readTree(config.toFile());
    ((ObjectNode) root).put("tie_word_embeddings", false);
    for (String sub : List.of("text_config", "llm_config")) {
      if (root.get(sub) instanceof ObjectNode inner) {
        inner.put("tie_word_embeddings", false);
      }
    }
    json.writeValue(config.toFile(), root);
  }
}
