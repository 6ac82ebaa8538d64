// The family registry: finds a checkpoint's VlmModule from config.json's model_type (not from the folder name, as
// VLM-R1 does), with an explicit override; families come in through ServiceLoader.
package org.vlmr1.module;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.TreeSet;
import org.vlmr1.util.JsonConfig;

/** Looks up model families. */
public final class VlmModules {
  private VlmModules() {}

  /** Every provider on the class path. */
  public static List<VlmModuleProvider> providers() {
    List<VlmModuleProvider> out = new ArrayList<>();
    ServiceLoader.load(VlmModuleProvider.class, VlmModules.class.getClassLoader()).forEach(out::add);
    return out;
  }

  /**
   * The module for a checkpoint folder.
   *
   * @param vlmOverride a family key ("qwen", "internvl") to use instead of config.json's model_type, or null
   */
  public static VlmModule forCheckpoint(Path checkpoint, String vlmOverride, ModuleOptions options) throws IOException {
    List<VlmModuleProvider> all = providers();
    if (vlmOverride != null) {
      for (VlmModuleProvider p : all) {
        if (p.vlmKey().equals(vlmOverride)) {
          return create(p, checkpoint, options);
        }
      }
      throw new IllegalArgumentException("unknown VLM family '" + vlmOverride + "'; known: " + keys(all));
    }
    String type = modelType(checkpoint);
    for (VlmModuleProvider p : all) {
      if (p.modelTypes().contains(type)) {
        return create(p, checkpoint, options);
      }
    }
    TreeSet<String> known = new TreeSet<>();
    all.forEach(p -> known.addAll(p.modelTypes()));
    throw new IllegalArgumentException(checkpoint.resolve("config.json") + ": model_type '" + type
        + "' is not a known VLM family; known model types: " + known + " (or name one with --vlm)");
  }

  /**
   * A family's module reward by its key (score --vlm, without a checkpoint): the provider's
   * {@link VlmModuleProvider#selectRewardFunction}.
   */
  public static org.vlmr1.reward.RewardFunction selectRewardFunction(String vlmKey, String func, String taskType) {
    List<VlmModuleProvider> all = providers();
    for (VlmModuleProvider p : all) {
      if (p.vlmKey().equals(vlmKey)) {
        return p.selectRewardFunction(func, taskType);
      }
    }
    throw new IllegalArgumentException("no module rewards for VLM '" + vlmKey + "'; known: " + keys(all));
  }

  /** The module, after checking that every processing keyword given is one the family declares. */
  private static VlmModule create(VlmModuleProvider p, Path checkpoint, ModuleOptions options) throws IOException {
    List<String> names = p.customProcessingKeywords().stream().map(ProcessingKeyword::name).toList();
    for (String k : options.processing().keySet()) {
      if (!names.contains(k)) {
        throw new IllegalArgumentException("--" + k + " is not a processing keyword of the " + p.vlmKey()
            + " family (its keywords: " + (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
      }
    }
    return p.create(checkpoint, options);
  }

  /** Every registered family's processing keywords, by family key (the command line declares them all). */
  public static java.util.Map<String, List<ProcessingKeyword>> processingKeywords() {
    java.util.Map<String, List<ProcessingKeyword>> out = new java.util.TreeMap<>();
    for (VlmModuleProvider p : providers()) {
      out.put(p.vlmKey(), p.customProcessingKeywords());
    }
    return out;
  }

  /** config.json's model_type. */
  public static String modelType(Path checkpoint) throws IOException {
    Path cfg = checkpoint.resolve("config.json");
    if (!Files.isRegularFile(cfg)) {
      // a --use_peft checkpoint-N holds adapters only; eval and generate on it said just "no config.json"
      String adapter = Files.isRegularFile(checkpoint.resolve(org.vlmr1.model.LoraCheckpoint.CONFIG))
          ? "; it holds a LoRA adapter: bin/vlmr1 merge-lora --model BASE --adapter " + checkpoint + " --out DIR "
              + "writes the full checkpoint" : "";
      throw new IOException("no config.json in " + checkpoint + " (a Hugging Face checkpoint folder is expected)"
          + adapter);
    }
    String type = JsonConfig.read(cfg).getText("model_type", "");
    if (type.isEmpty()) {
      throw new IOException(cfg + " has no model_type");
    }
    return type;
  }

  private static String keys(List<VlmModuleProvider> all) {
    TreeSet<String> k = new TreeSet<>();
    all.forEach(p -> k.add(p.vlmKey()));
    return k.toString();
  }
}
