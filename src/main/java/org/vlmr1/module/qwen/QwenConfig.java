// Qwen2.5-VL config.json fields (ARCHITECTURES.md A1): text fields at the top level or under text_config, the
// vision tower under vision_config, M-RoPE sections under rope_scaling or rope_parameters.
package org.vlmr1.module.qwen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;

/** The configuration of a Qwen2.5-VL checkpoint; validated at construction. */
public record QwenConfig(String modelType, long vocabSize, long hiddenSize, long intermediateSize, int numLayers,
    int numHeads, int numKvHeads, double rmsNormEps, double ropeTheta, int[] mropeSection, boolean tieWordEmbeddings,
    long imageTokenId, long visionStartTokenId, Vision vision) {

  /**
   * vision_config. Qwen2-VL ({@code qwen2}) has LayerNorm blocks with a fc1/QuickGELU/fc2 MLP, full attention in every
   * block and a LayerNorm merger; Qwen2.5-VL has RMSNorm, SwiGLU and window attention.
   */
  public record Vision(boolean qwen2, int depth, long hiddenSize, int numHeads, long intermediateSize, int patchSize,
      int temporalPatchSize, int spatialMergeSize, int windowSize, int[] fullattBlockIndexes, long outHiddenSize) {
    public long headDim() {
      return hiddenSize / numHeads;
    }
  }

  public QwenConfig {
    if (hiddenSize % numHeads != 0 || numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException("hidden_size " + hiddenSize + " / heads " + numHeads + " / kv heads "
          + numKvHeads + " do not divide");
    }
    int sum = 0;
    for (int s : mropeSection) {
      sum += s;
    }
    if (mropeSection.length != 3 || sum * 2L != hiddenSize / numHeads) {
      throw new IllegalArgumentException("mrope_section " + java.util.Arrays.toString(mropeSection)
          + " must have 3 parts summing to head_dim/2 = " + hiddenSize / numHeads / 2);
    }
  }

  public long headDim() {
    return hiddenSize / numHeads;
  }

  /** The text decoder's shape (q/k/v biases, plain M-RoPE without dynamic scaling). */
  public org.vlmr1.model.DecoderConfig decoder() {
    return new org.vlmr1.model.DecoderConfig(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
        rmsNormEps, ropeTheta, tieWordEmbeddings, true, 0, 0);
  }

  public static QwenConfig read(Path checkpoint) throws IOException {
    Path file = checkpoint.resolve("config.json");
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    JsonNode text = root.has("text_config") ? root.get("text_config") : root;
    JsonNode rope = text.has("rope_scaling") ? text.get("rope_scaling")
        : text.has("rope_parameters") ? text.get("rope_parameters") : root.path("rope_scaling");
    JsonNode sec = rope.path("mrope_section");
    if (!sec.isArray() || sec.size() != 3) {
      throw new IOException(file + ": rope_scaling.mrope_section (3 ints) is required for Qwen2.5-VL");
    }
    JsonNode v = root.path("vision_config");
    if (v.isMissingNode()) {
      throw new IOException(file + ": vision_config is missing");
    }
    JsonNode fa = v.path("fullatt_block_indexes");
    int[] full = new int[fa.size()];
    for (int i = 0; i < full.length; i++) {
      full[i] = fa.get(i).asInt();
    }
    boolean qwen2 = root.path("model_type").asText().equals("qwen2_vl");
    Vision vision;
    if (qwen2) {
      // Qwen2-VL: embed_dim is the tower's width, hidden_size the merger's output (the LLM's width).
      long embed = req(v, "embed_dim", file).asLong();
      int depth = req(v, "depth", file).asInt();
      int[] all = new int[depth];
      for (int i = 0; i < depth; i++) {
        all[i] = i;
      }
      vision = new Vision(true, depth, embed, req(v, "num_heads", file).asInt(),
          (long) (embed * v.path("mlp_ratio").asDouble(4)), v.path("patch_size").asInt(14),
          v.path("temporal_patch_size").asInt(2), v.path("spatial_merge_size").asInt(2), 0, all,
          req(v, "hidden_size", file).asLong());
    } else {
      vision = new Vision(false, req(v, "depth", file).asInt(), req(v, "hidden_size", file).asLong(),
          req(v, "num_heads", file).asInt(), req(v, "intermediate_size", file).asLong(), v.path("patch_size").asInt(14),
          v.path("temporal_patch_size").asInt(2), v.path("spatial_merge_size").asInt(2),
          v.path("window_size").asInt(112), full, req(v, "out_hidden_size", file).asLong());
    }
    return new QwenConfig(root.path("model_type").asText(), req(text, "vocab_size", file).asLong(),
        req(text, "hidden_size", file).asLong(), req(text, "intermediate_size", file).asLong(),
        req(text, "num_hidden_layers", file).asInt(), req(text, "num_attention_heads", file).asInt(),
        text.path("num_key_value_heads").asInt(text.path("num_attention_heads").asInt()),
        text.path("rms_norm_eps").asDouble(1e-6), text.path("rope_theta").asDouble(1e6),
        new int[] {sec.get(0).asInt(), sec.get(1).asInt(), sec.get(2).asInt()},
        root.path("tie_word_embeddings").asBoolean(text.path("tie_word_embeddings").asBoolean(false)),
        req(root, "image_token_id", file).asLong(), req(root, "vision_start_token_id", file).asLong(), vision);
  }

  private static JsonNode req(JsonNode n, String key, Path file) throws IOException {
    JsonNode v = n.path(key);
    if (v.isMissingNode() || v.isNull()) {
      throw new IOException(file + ": " + key + " is missing");
    }
    return v;
  }
}
