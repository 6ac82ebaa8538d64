// What `init-tiny` asks a family for: a tiny random checkpoint of these sizes, with the family's own options (e.g.
// InternVL's tile side), written by the family through its provider so the command names no family.
package org.vlmr1.module;

import java.util.Map;

/**
 * @param hiddenSize decoder hidden size; numLayers, numHeads, numKvHeads, intermediateSize the rest of the decoder
 * @param visionDepth vision blocks; visionHidden their width
 * @param seed initialisation seed
 * @param options the family's own init-tiny options by name ({@link VlmModuleProvider#tinyOptions}); absent ones take
 *     the family's defaults
 */
public record TinySpec(int hiddenSize, int numLayers, int numHeads, int numKvHeads, int intermediateSize,
    int visionDepth, int visionHidden, long seed, Map<String, String> options) {
  /** The defaults init-tiny shows (hidden 64, 2 layers, 4 heads, 2 KV heads, MLP 128, vision 2 x 32). */
  public static final TinySpec DEFAULTS = new TinySpec(64, 2, 4, 2, 128, 2, 32, 0, Map.of());

  /** A released model's sizes for init-tiny --like, and the config.json model_type it is written as. */
  public record Preset(String modelType, TinySpec sizes) {}

  public TinySpec {
    options = Map.copyOf(options);
  }

  /** An option as an integer, or {@code fallback} when absent. */
  public int option(String name, int fallback) {
    String v = options.get(name);
    try {
      return v == null ? fallback : Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " takes an integer, got '" + v + "'");
    }
  }
}
