// Qwen2.5-VL for conditional generation (ARCHITECTURES.md A5-A9): vision tower, image embeddings scattered at
// <|image_pad|>, the Qwen2 decoder with M-RoPE, GQA with QKV bias, RMSNorm, SwiGLU, tied or untied lm_head.
package org.vlmr1.module.qwen;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.model.CheckpointedPass;
import org.vlmr1.model.DecoderVlModel;
import org.vlmr1.model.Qwen2Decoder;
import org.vlmr1.model.Weights;

/** The model: weights plus forward. Build it outside a PointerScope; run each forward inside one. */
public final class QwenVlModel extends DecoderVlModel {
  private final QwenConfig cfg;
  private final QwenVision vision;

  public QwenVlModel(QwenConfig cfg, Weights w) {
    super(w, new Qwen2Decoder(cfg.decoder(), w, "model.", "lm_head.weight"), false, "image"); // generates from ids
    this.cfg = cfg;
    this.vision = new QwenVision(cfg.vision(), w);
    // <|image_pad|>: config.json's until the module's postModelInit sets the id its prompts use (--image_token_id)
    setImageSlotId(cfg.imageTokenId());
    w.rejectUnexpected(); // as InternVlModel: a tensor nothing reads is a wrong checkpoint, not one to ignore
  }

  /** Loads config.json and the safetensors of a checkpoint (either key convention). */
  public static QwenVlModel load(Path checkpoint) throws IOException {
    QwenConfig cfg = QwenConfig.read(checkpoint);
    Weights w = Weights.load(checkpoint, QwenVlModel::normaliseKey);
    try {
      return new QwenVlModel(cfg, w);
    } catch (RuntimeException e) {
      w.close(); // a refused checkpoint does not keep its tensors alive
      throw e;
    }
  }

  /** transformers >= 4.52 names (model.visual.*, model.language_model.*) to the 4.49 ones. */
  static String normaliseKey(String k) {
    if (k.startsWith("model.visual.")) {
      return "visual." + k.substring("model.visual.".length());
    }
    if (k.startsWith("model.language_model.")) {
      return "model." + k.substring("model.language_model.".length());
    }
    return k;
  }

  public QwenConfig config() {
    return cfg;
  }

  public QwenVision vision() {
    return vision;
  }

  /** get_rope_index's M-RoPE positions (3, B, L) over the prompt's image blocks; rope_deltas are the decode offset. */
  @Override
  protected Positions positions(Tensor promptIds, Tensor attentionMask, Map<String, Tensor> multimodal) {
    QwenRope.Positions p = QwenRope.ropeIndex(promptIds, attentionMask, multimodal.get("image_grid_thw"), imageSlotId(),
        cfg.vision().spatialMergeSize());
    return new Positions(p.positionIds(), p.ropeDeltas());
  }

  @Override
  protected Tensor[] cosSin(Tensor positionIds) {
    return QwenRope.cosSin(positionIds, cfg.ropeTheta(), cfg.headDim(), cfg.mropeSection());
  }

  /** A decode step's position on all three streams (transformers 4.50's Qwen2.5-VL decode rule). */
  @Override
  protected Tensor decodePositionIds(Tensor positions) {
    return positions.unsqueeze(0).expand(3, positions.size(0), 1).contiguous();          // (3, B, 1)
  }

  /** vision_embeds (image tokens, H), position_ids (3, B, L) and rope_deltas (B, 1), as transformers names them. */
  @Override
  protected void extraOutputs(Output o, Map<String, Tensor> multimodal, Map<String, Tensor> out) {
    if (o.visionEmbeds() != null) {
      out.put("vision_embeds", o.visionEmbeds());
    }
    out.put("position_ids", o.positions().ids());
    out.put("rope_deltas", o.positions().decodeOffset());
  }

  /** The merged features (image tokens, H) of pixel_values by image_grid_thw: the vision tower is all of it. */
  @Override
  public Tensor imageEmbeds(Map<String, Tensor> multimodal) {
    Tensor pv = multimodal.get("pixel_values");
    List<GridThw> grids = grids(pv, multimodal);
    return grids.isEmpty() ? null : vision.forward(pv, grids);
  }

  /** The vision tower per block, for a checkpointed pass in which it trains (no cached image_embeds). */
  @Override
  protected List<CheckpointedPass.Segment> imageFeatureSegments(Map<String, Tensor> multimodal) {
    Tensor pv = multimodal.get("pixel_values");
    List<GridThw> grids = grids(pv, multimodal);
    return grids.isEmpty() ? null : vision.segments(pv, grids);
  }

  /**
   * The images' grids; empty for a text-only pass. Patch rows without grids (or grids without patch rows) are refused:
   * read as text-only they would drop the images without a word.
   */
  private static List<GridThw> grids(Tensor pixelValues, Map<String, Tensor> multimodal) {
    List<GridThw> grids = GridThw.of(multimodal.get("image_grid_thw"));
    boolean patches = pixelValues != null && pixelValues.numel() > 0;
    if (patches && grids.isEmpty()) {
      throw new IllegalArgumentException("pixel_values has " + pixelValues.size(0) + " patch rows but there is no "
          + "image_grid_thw to say which image each belongs to");
    }
    if (!patches && !grids.isEmpty()) {
      throw new IllegalArgumentException("image_grid_thw lists " + grids.size() + " image(s) but there are no "
          + "pixel_values");
    }
    return grids;
  }

  @Override
  public String toString() {
    return "QwenVlModel(" + cfg.modelType() + ", " + cfg.numLayers() + " layers, hidden " + cfg.hiddenSize()
        + ", vocab " + cfg.vocabSize() + ", " + TensorChecks.dtype(weights.get("model.embed_tokens.weight")) + ")";
  }
}
