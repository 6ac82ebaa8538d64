// InternVL2.5 / InternVL3 config.json (model_type internvl_chat, ARCHITECTURES.md B1): the top-level tiling and
// projector fields, vision_config (InternViT) and llm_config (a Qwen2 or InternLM2 language model).
package org.vlmr1.module.internvl;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import org.vlmr1.model.DecoderConfig;
import org.vlmr1.util.Json;
import org.vlmr1.util.JsonConfig;

/**
 * The configuration of an InternVL checkpoint; validated at construction.
 *
 * @param imageSize the tile side (force_image_size, else vision_config.image_size)
 * @param selectLayer which vision hidden state feeds the projector (-1: the last layer's output)
 * @param eosTokenId llm_config.eos_token_id (a second stop id besides the template's separator), or -1
 * @param imgContextTokenId config's img_context_token_id when recorded, else -1 (the tokenizer supplies it)
 */
public record InternVlConfig(int imageSize, double downsampleRatio, int selectLayer, String template,
    String psVersion, boolean useThumbnail, int minDynamicPatch, int maxDynamicPatch, Vision vision, LlmArch llmArch,
    DecoderConfig llm, long eosTokenId, long bosTokenId, long padTokenId, long imgContextTokenId) {

  /** The language model families InternVL ships with. */
  public enum LlmArch {
    /** Qwen2ForCausalLM: InternVL2.5-1B/4B/38B/78B, InternVL3. */
    QWEN2,
    /** InternLM2ForCausalLM: InternVL2.5-2B/8B/26B (packed wqkv, no biases). */
    INTERNLM2;

    static LlmArch of(String architecture, Path file) throws IOException {
      switch (architecture) {
        case "Qwen2ForCausalLM": return QWEN2;
        case "InternLM2ForCausalLM": return INTERNLM2;
        default: throw new IOException(file + ": llm_config.architectures[0] '" + architecture
            + "' is not supported (supported: Qwen2ForCausalLM, InternLM2ForCausalLM)");
      }
    }
  }

  /** InternViT's norm: LayerNorm with bias (300M) or RMSNorm (6B). */
  public enum NormType { LAYER_NORM, RMS_NORM }

  /** vision_config (InternViT). */
  public record Vision(long hiddenSize, int numLayers, int numHeads, long intermediateSize, int imageSize,
      int patchSize, boolean qkvBias, boolean qkNormalization, NormType normType, double layerNormEps) {
    public Vision {
      if (hiddenSize < 1 || numLayers < 1 || numHeads < 1 || intermediateSize < 1 || imageSize < 1 || patchSize < 1) {
        throw new IllegalArgumentException("vision_config sizes must be positive: hidden_size " + hiddenSize
            + ", num_hidden_layers " + numLayers + ", num_attention_heads " + numHeads + ", intermediate_size "
            + intermediateSize + ", image_size " + imageSize + ", patch_size " + patchSize);
      }
      if (!(layerNormEps >= 0) || Double.isInfinite(layerNormEps)) {
        throw new IllegalArgumentException("vision_config.layer_norm_eps " + layerNormEps + " must be >= 0 (finite)");
      }
      if (hiddenSize % numHeads != 0) {
        throw new IllegalArgumentException("vision hidden_size " + hiddenSize + " is not a multiple of its "
            + numHeads + " heads");
      }
      if (imageSize % patchSize != 0) {
        throw new IllegalArgumentException("vision image_size " + imageSize + " is not a multiple of patch_size "
            + patchSize);
      }
    }

    public long headDim() {
      return hiddenSize / numHeads;
    }

    /** Patches per side of the stored position embedding. */
    public int gridSize() {
      return imageSize / patchSize;
    }
  }

  public InternVlConfig {
    if (imageSize < 1 || imageSize % vision.patchSize() != 0) {
      throw new IllegalArgumentException("force_image_size " + imageSize + " is not a positive multiple of "
          + "patch_size " + vision.patchSize());
    }
    // NaN passes Java's comparisons, so each bound is written to fail on it (as QwenConfig's).
    if (!(llm.rmsNormEps() >= 0) || !(llm.ropeTheta() > 0) || Double.isInfinite(llm.rmsNormEps())
        || Double.isInfinite(llm.ropeTheta())) {
      throw new IllegalArgumentException("llm_config.rms_norm_eps " + llm.rmsNormEps() + " must be >= 0 and "
          + "llm_config.rope_theta " + llm.ropeTheta() + " > 0 (finite)");
    }
    // Rope's dynamic NTK divides by max_position_embeddings (read() has checked the factor itself).
    if (llm.ropeScalingFactor() != 0 && llm.maxPositionEmbeddings() < 1) {
      throw new IllegalArgumentException("llm_config.max_position_embeddings " + llm.maxPositionEmbeddings()
          + " must be >= 1 with a dynamic rope_scaling");
    }
    // hidden_states[select_layer] over the tower's num_hidden_layers + 1 states (Python indexing: -1 the last)
    int states = vision.numLayers() + 1;
    if (selectLayer < -states || selectLayer >= states) {
      throw new IllegalArgumentException("select_layer " + selectLayer + " is outside the vision tower's " + states
          + " hidden states [" + -states + ", " + (states - 1) + "]");
    }
    int side = imageSize / vision.patchSize();
    double scaled = side * downsampleRatio;
    if (downsampleRatio <= 0 || scaled != Math.rint(scaled) || Math.rint(1 / downsampleRatio) != 1 / downsampleRatio) {
      throw new IllegalArgumentException("downsample_ratio " + downsampleRatio + " must be 1/k and divide the "
          + side + " patches per side");
    }
    if (!psVersion.equals("v1") && !psVersion.equals("v2")) {
      throw new IllegalArgumentException("ps_version must be v1 or v2, got " + Json.shortened(psVersion));
    }
    InternVlTemplate.named(template); // an unknown name is refused here, where the file is named
    if (minDynamicPatch < 1 || maxDynamicPatch < minDynamicPatch) {
      throw new IllegalArgumentException("min_dynamic_patch " + minDynamicPatch + " / max_dynamic_patch "
          + maxDynamicPatch + " must satisfy 1 <= min <= max");
    }
    String tooMany = InternVlImageProcessor.tooManyTiles("max_dynamic_patch", imageSize,
        maxDynamicPatch);
    if (tooMany != null) {
      throw new IllegalArgumentException(tooMany);
    }
  }

  /** Tokens per tile after pixel shuffle: (imageSize / patch)^2 * ratio^2. */
  public int numImageToken() {
    int side = imageSize / vision.patchSize();
    return (int) (side * side * downsampleRatio * downsampleRatio);
  }

  /** The pixel-shuffle factor 1 / downsample_ratio (2 for 0.5). */
  public int shuffleFactor() {
    return (int) Math.rint(1 / downsampleRatio);
  }

  public static InternVlConfig read(Path checkpoint) throws IOException {
    Path file = checkpoint.resolve("config.json");
    JsonConfig root = JsonConfig.read(file);
    if (!root.has("vision_config") || !root.has("llm_config")) {
      throw new IOException(file + ": an internvl_chat config needs vision_config and llm_config");
    }
    JsonConfig v = root.child("vision_config");
    JsonConfig t = root.child("llm_config");
    String norm = v.getText("norm_type", "rms_norm");
    NormType normType;
    switch (norm) {
      case "layer_norm": normType = NormType.LAYER_NORM; break;
      case "rms_norm": normType = NormType.RMS_NORM; break;
      default: throw new IOException(file + ": vision_config.norm_type '" + norm + "' (layer_norm or rms_norm)");
    }
    String act = v.getText("hidden_act", "gelu");
    if (!act.equals("gelu")) {
      throw new IOException(file + ": vision_config.hidden_act '" + act + "' is not supported (gelu)");
    }
    JsonNode arch = t.node().path("architectures");
    LlmArch llmArch = LlmArch.of(arch.isArray() && arch.size() > 0 ? arch.get(0).asText() : "Qwen2ForCausalLM", file);
    double factor = 0;
    if (t.node().path("rope_scaling").isObject()) {
      JsonConfig rope = t.child("rope_scaling");
      String type = rope.getText("type", rope.getText("rope_type", "default"));
      if (type.equals("dynamic")) {
        factor = rope.getDouble("factor", 1);
        // below 1 Rope's NTK base can turn negative (NaN rotations); transformers' rope validation asks >= 1 too
        if (!(factor >= 1) || Double.isInfinite(factor)) {
          throw new IOException(file + ": llm_config.rope_scaling.factor " + factor + " must be >= 1 (finite)");
        }
      } else if (!type.equals("default")) {
        throw new IOException(file + ": llm_config.rope_scaling type '" + type + "' is not supported (dynamic)");
      }
    }
    try {
      int visionImage = v.requireInt("image_size");
      Vision vision = new Vision(v.requireLong("hidden_size"), v.requireInt("num_hidden_layers"),
          v.requireInt("num_attention_heads"), v.requireLong("intermediate_size"), visionImage,
          v.getInt("patch_size", 14), v.getBoolean("qkv_bias", true), v.getBoolean("qk_normalization", false),
          normType, v.getDouble("layer_norm_eps", 1e-6));
      int heads = t.requireInt("num_attention_heads");
      DecoderConfig llm = new DecoderConfig(t.requireLong("vocab_size"), t.requireLong("hidden_size"),
          t.requireLong("intermediate_size"), t.requireInt("num_hidden_layers"), heads,
          t.getInt("num_key_value_heads", heads), t.getDouble("rms_norm_eps", 1e-6),
          t.getDouble("rope_theta", llmArch == LlmArch.QWEN2 ? 1e6 : 1e4),
          // InternVLChatConfig forces tie_word_embeddings false; a checkpoint without a head still falls back.
          false, llmArch == LlmArch.QWEN2 || t.getBoolean("bias", false), factor,
          t.getLong("max_position_embeddings", 32768));
      return new InternVlConfig(root.getInt("force_image_size", visionImage), root.getDouble("downsample_ratio", 0.5),
          root.getInt("select_layer", -1), root.getText("template", "internvl2_5"), root.getText("ps_version", "v2"),
          root.getBoolean("use_thumbnail", true), root.getInt("min_dynamic_patch", 1),
          root.getInt("max_dynamic_patch", 12), vision, llmArch, llm, id(t.node(), "eos_token_id"),
          id(t.node(), "bos_token_id"), id(t.node(), "pad_token_id"), id(root.node(), "img_context_token_id"));
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  private static long id(JsonNode n, String key) {
    JsonNode v = n.path(key);
    if (v.isArray() && v.size() > 0) {
      v = v.get(0);
    }
    return v.isNumber() ? v.asLong() : -1;
  }
}
