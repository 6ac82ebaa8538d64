// InternVLChatModel (ARCHITECTURES.md B5-B8): InternViT features of the flagged tiles placed at <IMG_CONTEXT>
// positions of the token embeddings, then the Qwen2-shaped language model with 1-D RoPE whose positions come from
// the attention mask (cumsum - 1), in generation and in every training forward (CONVENTIONS.md "Batches").
package org.vlmr1.module.internvl;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.model.CheckpointedPass;
import org.vlmr1.model.DecoderVlModel;
import org.vlmr1.model.Qwen2Decoder;
import org.vlmr1.model.Rope;
import org.vlmr1.model.Weights;

/** The model: weights plus forward. Build it outside a PointerScope; run each forward inside one. */
public final class InternVlModel extends DecoderVlModel {
  private final InternVlConfig cfg;
  private final InternVision vision;

  public InternVlModel(InternVlConfig cfg, Weights w) {
    // generates from inputs_embeds: generate returns the new tokens only
    super(w, new Qwen2Decoder(cfg.llm(), w, "language_model.model.", "language_model.lm_head.weight",
        cfg.llmArch() == InternVlConfig.LlmArch.INTERNLM2 ? InternLm2Keys.HEAD_MODULE : "language_model.lm_head"),
        true, "<IMG_CONTEXT>");
    this.cfg = cfg;
    this.vision = new InternVision(cfg, w);
    w.rejectUnexpected();
    setImageSlotId(cfg.imgContextTokenId()); // <IMG_CONTEXT>: the module's postModelInit sets the prompts' id
  }

  /** Loads config.json and the safetensors (InternLM2 language models are unpacked into the Qwen2 layout). */
  public static InternVlModel load(Path checkpoint) throws IOException {
    InternVlConfig cfg = InternVlConfig.read(checkpoint);
    Weights w = Weights.load(checkpoint, k -> k);
    try {
      if (cfg.llmArch() == InternVlConfig.LlmArch.INTERNLM2) {
        InternLm2Keys.unpack(w, cfg.llm());
      }
      return new InternVlModel(cfg, w);
    } catch (RuntimeException e) {
      w.close(); // a refused checkpoint does not keep its tensors alive
      throw e;
    }
  }

  public InternVlConfig config() {
    return cfg;
  }

  public InternVision vision() {
    return vision;
  }

  /** The weights themselves (tests build towers with other settings over them). */
  Weights weightsForTests() {
    return weights;
  }

  /**
   * (flagged tiles, num_image_token, H): mlp1 over InternViT's output of the tiles whose image_flags is 1 (tiles
   * with flag 0, dummy tiles of text-only examples, are dropped before the tower, as forward's
   * vit_embeds[image_flags == 1] drops them after it), or over precomputed tower outputs.
   */
  @Override
  protected Tensor imageFeatures(Map<String, Tensor> multimodal) {
    Tensor embeds = multimodal.get(IMAGE_EMBEDS);
    Tensor tiles = embeds != null ? null : flaggedTiles(multimodal.get("pixel_values"), multimodal.get("image_flags"));
    if (embeds == null && (tiles == null || tiles.size(0) == 0)) {
      return null;
    }
    requireContextId();
    return embeds != null ? vision.project(embeds) : vision.extractFeature(tiles);
  }

  /** InternViT per block, then mlp1, for a checkpointed pass in which the tower trains (no cached image_embeds). */
  @Override
  protected List<CheckpointedPass.Segment> imageFeatureSegments(Map<String, Tensor> multimodal) {
    Tensor tiles = flaggedTiles(multimodal.get("pixel_values"), multimodal.get("image_flags"));
    if (tiles == null || tiles.size(0) == 0) {
      return null;
    }
    requireContextId();
    return vision.segments(tiles);
  }

  @Override
  protected void slotsWithoutFeatures(long slots) {
    throw new IllegalArgumentException(slots + " <IMG_CONTEXT> tokens but no image tiles (pixel_values with "
        + "image_flags 1)");
  }

  /** 1-D RoPE from the attention mask (cumsum - 1) in generation and in every training forward. */
  @Override
  protected Positions positions(Tensor promptIds, Tensor attentionMask, Map<String, Tensor> multimodal) {
    return positionsFromMask(attentionMask);
  }

  @Override
  protected Tensor[] cosSin(Tensor positionIds) {
    return Rope.cosSin(positionIds, cfg.llm());
  }

  /** vision_embeds: every tile's features (dummy tiles included), (tiles, num_image_token, H), as extract_feature. */
  @Override
  protected void extraOutputs(Output o, Map<String, Tensor> multimodal, Map<String, Tensor> out) {
    Tensor pixels = multimodal.get("pixel_values");
    if (pixels != null) {
      out.put("vision_embeds", vision.extractFeature(pixels).to(ScalarType.Float));
    }
  }

  /** The tiles whose flag is 1 (all of them without flags); null without pixels. */
  static Tensor flaggedTiles(Tensor pixelValues, Tensor imageFlags) {
    if (pixelValues == null) {
      return null;
    }
    if (imageFlags == null) {
      return pixelValues;
    }
    Tensor flags = imageFlags.reshape(-1);
    if (flags.size(0) != pixelValues.size(0)) {
      throw new IllegalArgumentException("image_flags has " + flags.size(0) + " entries for " + pixelValues.size(0)
          + " tiles");
    }
    Tensor keep = flags.eq(new Scalar(1)).nonzero().reshape(-1);
    return keep.size(0) == flags.size(0) ? pixelValues : pixelValues.index_select(0, keep);
  }

  private void requireContextId() {
    if (imageSlotId() < 0) {
      throw new IllegalStateException("the <IMG_CONTEXT> token id is unknown: give --img_context_token_id or a "
          + "checkpoint with tokenizer files (the module's postModelInit sets it)");
    }
  }

  /** InternViT's output for the flagged tiles (the vision_model part; mlp1 is not a vision module and trains). */
  @Override
  public Tensor imageEmbeds(Map<String, Tensor> multimodal) {
    Tensor tiles = flaggedTiles(multimodal.get("pixel_values"), multimodal.get("image_flags"));
    return tiles == null || tiles.size(0) == 0 ? null : vision.tower(tiles);
  }

  /**
   * LoRA modules under PEFT's names: an InternLM2 language model's unpacked q/k/v are pieces of its packed
   * attention.wqkv, and o_proj, gate/up/down_proj and lm_head are wo, w1/w3/w2 and output.
   */
  @Override
  protected Map<String, org.vlmr1.model.LoraPart> loraParts() {
    return cfg.llmArch() == InternVlConfig.LlmArch.INTERNLM2 ? InternLm2Keys.loraParts(cfg.llm()) : Map.of();
  }

  /** InternLM2 language models go back to their packed wqkv layout. */
  @Override
  protected Map<String, Tensor> checkpointTensors() {
    return cfg.llmArch() == InternVlConfig.LlmArch.INTERNLM2 ? InternLm2Keys.pack(weights.asMap(), cfg.llm())
        : weights.asMap();
  }

  @Override
  public String toString() {
    return "InternVlModel(" + cfg.llmArch() + ", vision " + cfg.vision().numLayers() + " layers, llm "
        + cfg.llm().numLayers() + " layers, hidden " + cfg.llm().hiddenSize() + ", vocab " + cfg.llm().vocabSize()
        + ", " + TensorChecks.dtype(lmHead()) + ")";
  }
}
