// Qwen2.5-VL config.json fields (ARCHITECTURES.md A1): text fields at the top level or under text_config, the
// vision tower under vision_config, M-RoPE sections under rope_scaling or rope_parameters.
package org.vlmr1.module.qwen;

import java.io.IOException;
import java.nio.file.Path;
import org.vlmr1.util.JsonConfig;

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
    public Vision {
      if (depth < 1 || hiddenSize < 1 || numHeads < 1 || intermediateSize < 1 || patchSize < 1 || temporalPatchSize < 1
          || spatialMergeSize < 1 || outHiddenSize < 1) {
        throw new IllegalArgumentException("vision_config sizes must be positive: depth " + depth + ", hidden "
            + hiddenSize + ", heads " + numHeads + ", intermediate " + intermediateSize + ", patch " + patchSize
            + ", temporal patch " + temporalPatchSize + ", spatial merge " + spatialMergeSize + ", out hidden "
            + outHiddenSize);
      }
      // Qwen2.5-VL's windows are window_size / merge / patch merged tokens wide (get_window_index): at least one
      if (!qwen2 && windowSize / spatialMergeSize / patchSize < 1) {
        throw new IllegalArgumentException("vision_config.window_size " + windowSize + " must be at least "
            + "spatial_merge_size * patch_size = " + (long) spatialMergeSize * patchSize);
      }
      if (hiddenSize % numHeads != 0) {
        throw new IllegalArgumentException("vision_config hidden size " + hiddenSize + " / heads " + numHeads
            + " do not divide");
      }
    }

    public long headDim() {
      return hiddenSize / numHeads;
    }
  }

  public QwenConfig {
    // the decoder's sizes are checked where every family's are (positive, heads dividing the width)
    decoder(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, rmsNormEps, ropeTheta,
        tieWordEmbeddings);
    if (!(rmsNormEps >= 0) || !(ropeTheta > 0) || Double.isInfinite(rmsNormEps) || Double.isInfinite(ropeTheta)) {
      throw new IllegalArgumentException("rms_norm_eps " + rmsNormEps + " must be >= 0 and rope_theta " + ropeTheta
          + " > 0 (finite)");
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
    return decoder(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, rmsNormEps, ropeTheta,
        tieWordEmbeddings);
  }

  private static org.vlmr1.model.DecoderConfig decoder(long vocabSize, long hiddenSize, long intermediateSize,
      int numLayers, int numHeads, int numKvHeads, double rmsNormEps, double ropeTheta, boolean tieWordEmbeddings) {
    return new org.vlmr1.model.DecoderConfig(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
        rmsNormEps, ropeTheta, tieWordEmbeddings, true, 0, 0);
  }

  public static QwenConfig read(Path checkpoint) throws IOException {
    Path file = checkpoint.resolve("config.json");
    JsonConfig root = JsonConfig.read(file);
    JsonConfig text = root.has("text_config") ? root.child("text_config") : root;
    JsonConfig rope = text.has("rope_scaling") ? text.child("rope_scaling")
        : text.has("rope_parameters") ? text.child("rope_parameters") : root.child("rope_scaling");
    int[] sec = rope.getIntArray("mrope_section");
    if (sec == null || sec.length != 3) {
      throw new IOException(file + ": rope_scaling.mrope_section (3 ints) is required for Qwen2.5-VL");
    }
    if (!root.has("vision_config")) {
      throw new IOException(file + ": vision_config is missing");
    }
    JsonConfig v = root.child("vision_config");
    int[] full = v.getIntArray("fullatt_block_indexes");
    String modelType = root.getText("model_type", "");
    boolean qwen2 = modelType.equals("qwen2_vl");
    Vision vision;
    try {
      vision = vision(v, qwen2, full);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
    int heads = text.requireInt("num_attention_heads");
    try {
      return new QwenConfig(modelType, text.requireLong("vocab_size"), text.requireLong("hidden_size"),
          text.requireLong("intermediate_size"), text.requireInt("num_hidden_layers"), heads,
          text.getInt("num_key_value_heads", heads), text.getDouble("rms_norm_eps", 1e-6),
          text.getDouble("rope_theta", 1e6), sec,
          root.getBoolean("tie_word_embeddings", text.getBoolean("tie_word_embeddings", false)),
          root.requireLong("image_token_id"), root.requireLong("vision_start_token_id"), vision);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  /** vision_config's tower (Qwen2-VL's or Qwen2.5-VL's field names). */
  private static Vision vision(JsonConfig v, boolean qwen2, int[] full) throws IOException {
    Vision vision;
    if (qwen2) {
      // Qwen2-VL: embed_dim is the tower's width, hidden_size the merger's output (the LLM's width).
      long embed = v.requireLong("embed_dim");
      int depth = v.requireInt("depth");
      int[] all = new int[Math.max(depth, 0)];
      for (int i = 0; i < all.length; i++) {
        all[i] = i;
      }
      vision = new Vision(true, depth, embed, v.requireInt("num_heads"), (long) (embed * v.getDouble("mlp_ratio", 4)),
          v.getInt("patch_size", 14), v.getInt("temporal_patch_size", 2), v.getInt("spatial_merge_size", 2), 0, all,
          v.requireLong("hidden_size"));
    } else {
      vision = new Vision(false, v.requireInt("depth"), v.requireLong("hidden_size"), v.requireInt("num_heads"),
          v.requireLong("intermediate_size"), v.getInt("patch_size", 14), v.getInt("temporal_patch_size", 2),
          v.getInt("spatial_merge_size", 2), v.getInt("window_size", 112), full == null ? new int[0] : full,
          v.requireLong("out_hidden_size"));
    }
    return vision;
  }
}
