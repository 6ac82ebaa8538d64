// What a user may set for a model family from the command line; null means "from the checkpoint, else the default".
package org.vlmr1.module;

import java.nio.file.Path;

/**
 * Overrides for building a {@link VlmModule} (CONVENTIONS.md "Where special token ids come from": flags first).
 *
 * @param tokenizer a tokenizer.json or folder, or null for the checkpoint's own
 * @param minPixels Qwen's min_pixels, or null
 * @param maxPixels Qwen's max_pixels, or null
 * @param maxAnyresNum InternVL's max_anyres_num (most tiles per image), or null
 * @param eosTokenId, padTokenId explicit ids, or null
 * @param imageTokenId Qwen's {@code <|image_pad|>} id, or null
 * @param imgContextTokenId InternVL's {@code <IMG_CONTEXT>} id, or null
 */
public record ModuleOptions(Path tokenizer, Long minPixels, Long maxPixels, Integer maxAnyresNum, Long eosTokenId,
    Long padTokenId, Long imageTokenId, Long imgContextTokenId) {
  public static final ModuleOptions DEFAULTS = new ModuleOptions(null, null, null, null, null, null, null, null);

  public ModuleOptions {
    if (maxAnyresNum != null && maxAnyresNum < 1) {
      throw new IllegalArgumentException("max_anyres_num must be >= 1, got " + maxAnyresNum);
    }
  }

  public ModuleOptions withPixels(Long min, Long max) {
    return new ModuleOptions(tokenizer, min, max, maxAnyresNum, eosTokenId, padTokenId, imageTokenId,
        imgContextTokenId);
  }

  public ModuleOptions withTokenizer(Path t) {
    return new ModuleOptions(t, minPixels, maxPixels, maxAnyresNum, eosTokenId, padTokenId, imageTokenId,
        imgContextTokenId);
  }

  public ModuleOptions withMaxAnyresNum(Integer n) {
    return new ModuleOptions(tokenizer, minPixels, maxPixels, n, eosTokenId, padTokenId, imageTokenId,
        imgContextTokenId);
  }
}
