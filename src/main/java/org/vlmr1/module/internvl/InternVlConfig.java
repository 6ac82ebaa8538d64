// InternVL2.5 / InternVL3 config.json (model_type internvl_chat, ARCHITECTURES.md B1): the top-level tiling and
// projector fields, vision_config (InternViT) and llm_config (a Qwen2 or InternLM2 language model).
package org.vlmr1.module.internvl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import org.vlmr1.model.DecoderConfig;

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
    if (imageSize % vision.patchSize() != 0) {
      throw new IllegalArgumentException("force_image_size " + imageSize + " is not a multiple of patch_size "
          + vision.patchSize());
    }
    int side = imageSize / vision.patchSize();
    double scaled = side * downsampleRatio;
    if (downsampleRatio <= 0 || scaled != Math.rint(scaled) || Math.rint(1 / downsampleRatio) != 1 / downsampleRatio) {
      throw new IllegalArgumentException("downsample_ratio " + downsampleRatio + " must be 1/k and divide the "
          + side + " patches per side");
    }
    if (!psVersion.equals("v1") && !psVersion.equals("v2")) {
      throw new IllegalArgumentException("ps_version must be v1 or v2, got " + psVersion);
    }
    if (minDynamicPatch < 1 || maxDynamicPatch < minDynamicPatch) {
      throw new IllegalArgumentException("min_dynamic_patch " + minDynamicPatch + " / max_dynamic_patch "
          + maxDynamicPatch + " must satisfy 1 <= min <= max");
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
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    JsonNode v = root.path("vision_config");
    JsonNode t = root.path("llm_config");
    if (v.isMissingNode() || t.isMissingNode()) {
      throw new IOException(file + ": an internvl_chat config needs vision_config and llm_config");
    }
    String norm = v.path("norm_type").asText("rms_norm");
    NormType normType;
    switch (norm) {
      case "layer_norm": normType = NormType.LAYER_NORM; break;
      case "rms_norm": normType = NormType.RMS_NORM; break;
      default: throw new IOException(file + ": vision_config.norm_type '" + norm + "' (layer_norm or rms_norm)");
    }
    int visionImage = req(v, "image_size", file).asInt();
    Vision vision = new Vision(req(v, "hidden_size", file).asLong(), req(v, "num_hidden_layers", file).asInt(),
        req(v, "num_attention_heads", file).asInt(), req(v, "intermediate_size", file).asLong(), visionImage,
        v.path("patch_size").asInt(14), v.path("qkv_bias").asBoolean(true),
        v.path("qk_normalization").asBoolean(false), normType, v.path("layer_norm_eps").asDouble(1e-6));
    String act = v.path("hidden_act").asText("gelu");
    if (!act.equals("gelu")) {
      throw new IOException(file + ": vision_config.hidden_act '" + act + "' is not supported (gelu)");
    }
    JsonNode arch = t.path("architectures");
    LlmArch llmArch = LlmArch.of(arch.isArray() && arch.size() > 0 ? arch.get(0).asText() : "Qwen2ForCausalLM", file);
    JsonNode rope = t.path("rope_scaling");
    double factor = 0;
    if (rope.isObject()) {
      String type = rope.path("type").asText(rope.path("rope_type").asText("default"));
      if (type.equals("dynamic")) {
        factor = rope.path("factor").asDouble(1);
      } else if (!type.equals("default")) {
        throw new IOException(file + ": llm_config.rope_scaling type '" + type + "' is not supported (dynamic)");
      }
    }
    int heads = req(t, "num_attention_heads", file).asInt();
    DecoderConfig llm = new DecoderConfig(req(t, "vocab_size", file).asLong(), req(t, "hidden_size", file).asLong(),
        req(t, "intermediate_size", file).asLong(), req(t, "num_hidden_layers", file).asInt(), heads,
        t.path("num_key_value_heads").asInt(heads), t.path("rms_norm_eps").asDouble(1e-6),
        t.path("rope_theta").asDouble(llmArch == LlmArch.QWEN2 ? 1e6 : 1e4),
        // InternVLChatConfig forces tie_word_embeddings false; a checkpoint without a head still falls back.
        false, llmArch == LlmArch.QWEN2 || t.path("bias").asBoolean(false), factor,
        t.path("max_position_embeddings").asLong(32768));
    int force = root.path("force_image_size").isNumber() ? root.get("force_image_size").asInt() : visionImage;
    return new InternVlConfig(force, root.path("downsample_ratio").asDouble(0.5), root.path("select_layer").asInt(-1),
        root.path("template").asText("internvl2_5"), root.path("ps_version").asText("v2"),
        root.path("use_thumbnail").asBoolean(true), root.path("min_dynamic_patch").asInt(1),
        root.path("max_dynamic_patch").asInt(12), vision, llmArch, llm, id(t, "eos_token_id"),
        id(t, "bos_token_id"), id(t, "pad_token_id"), id(root, "img_context_token_id"));
  }

  private static long id(JsonNode n, String key) {
    JsonNode v = n.path(key);
    if (v.isArray() && v.size() > 0) {
      v = v.get(0);
    }
    return v.isNumber() ? v.asLong() : -1;
  }

  private static JsonNode req(JsonNode n, String key, Path file) throws IOException {
    JsonNode v = n.path(key);
    if (v.isMissingNode() || v.isNull()) {
      throw new IOException(file + ": " + key + " is missing");
    }
    return v;
  }
}
