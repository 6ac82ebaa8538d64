// What a user may set for a model family from the command line; absent means "from the checkpoint, else the default".
package org.vlmr1.module;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Overrides for building a {@link VlmModule} (CONVENTIONS.md "Where special token ids come from": flags first).
 *
 * @param tokenizer a tokenizer.json or folder, or null for the checkpoint's own
 * @param processing values of the family's processing keywords ({@link VlmModule#customProcessingKeywords}) by name,
 *     e.g. Qwen's max_pixels or InternVL's max_anyres_num; {@link VlmModules#forCheckpoint} refuses a name the
 *     checkpoint's family does not declare
 * @param eosTokenId, padTokenId explicit ids, or null
 * @param imageTokenId Qwen's {@code <|image_pad|>} id, or null
 * @param imgContextTokenId InternVL's {@code <IMG_CONTEXT>} id, or null
 */
public record ModuleOptions(Path tokenizer, Map<String, String> processing, Long eosTokenId, Long padTokenId,
    Long imageTokenId, Long imgContextTokenId) {
  public static final ModuleOptions DEFAULTS = new ModuleOptions(null, Map.of(), null, null, null, null);

  public ModuleOptions {
    processing = Map.copyOf(processing);
  }

  /** These options with a processing keyword set ({@code null} removes it). */
  public ModuleOptions withProcessing(String name, Object value) {
    Map<String, String> p = new LinkedHashMap<>(processing);
    if (value == null) {
      p.remove(name);
    } else {
      p.put(name, String.valueOf(value));
    }
    return new ModuleOptions(tokenizer, p, eosTokenId, padTokenId, imageTokenId, imgContextTokenId);
  }

  public ModuleOptions withTokenizer(Path t) {
    return new ModuleOptions(t, processing, eosTokenId, padTokenId, imageTokenId, imgContextTokenId);
  }

  /** A processing keyword's value as an integer, or null when not set. */
  public Long processingLong(String name) {
    String v = processing.get(name);
    if (v == null) {
      return null;
    }
    try {
      return Long.valueOf(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " takes an integer, got '" + v + "'");
    }
  }
}
