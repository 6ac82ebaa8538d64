// Qwen2.5-VL for conditional generation (ARCHITECTURES.md A5-A9): vision tower, image embeddings scattered at
// <|image_pad|>, the Qwen2 decoder with M-RoPE, GQA with QKV bias, RMSNorm, SwiGLU, tied or untied lm_head.
package org.vlmr1.module.qwen;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.model.Generator;
import org.vlmr1.model.KvCache;
import org.vlmr1.model.Qwen2Decoder;
import org.vlmr1.model.Weights;
import org.vlmr1.module.GridThw;

/** The model: weights plus forward. Build it outside a PointerScope; run each forward inside one. */
public final class QwenVlModel implements org.vlmr1.model.VlmModel {
  private final QwenConfig cfg;
  private final Weights w;
  private final QwenVision vision;
  // <|image_pad|>: config.json's until the module's postModelInit sets the id its prompts use (--image_token_id)
  private volatile long imageTokenId;
  private final Qwen2Decoder decoder;

  public QwenVlModel(QwenConfig cfg, Weights w) {
    this.cfg = cfg;
    this.w = w;
    this.vision = new QwenVision(cfg.vision(), w);
    this.decoder = new Qwen2Decoder(cfg.decoder(), w, "model.", "lm_head.weight");
    this.imageTokenId = cfg.imageTokenId();
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

  /**
   * Saves the model in the Hugging Face layout (the transformers 4.49 key names, which every version loads), with the
   * source checkpoint's config and tokenizer files.
   */
  @Override
  public void save(Path out) throws IOException {
    org.vlmr1.model.Checkpoints.save(w.asMap(), w.source(), out, org.vlmr1.model.Checkpoints.SHARD_BYTES);
  }

  /** Converts the floating weights (e.g. to bf16 for training). */
  @Override
  public void castTo(ScalarType dtype) {
    w.castFloating(dtype);
  }

  public QwenConfig config() {
    return cfg;
  }

  public QwenVision vision() {
    return vision;
  }

  /** Sets the id whose positions receive the image features and start M-RoPE's image spans. */
  public void setImageTokenId(long id) {
    this.imageTokenId = id;
  }

  /** The {@code <|image_pad|>} id the forward looks for. */
  public long imageTokenId() {
    return imageTokenId;
  }

  /**
   * @param logits (B, L, V), or null when not asked for
   * @param hiddenStates [inputs_embeds, layer outputs..., final-norm output], each (B, L, H)
   * @param visionEmbeds (sum t*h*w/4, H) or null without images
   * @param positions M-RoPE position ids and deltas
   */
  public record Output(Tensor logits, List<Tensor> hiddenStates, Tensor visionEmbeds, QwenRope.Positions positions) {}

  /**
   * Prefill forward of a left-padded batch.
   *
   * @param inputIds (B, L) int64
   * @param attentionMask (B, L) int64, or null for all ones
   * @param pixelValues (sum t*h*w, 1176) or null
   * @param grids one per image, batch order
   */
  public Output forward(Tensor inputIds, Tensor attentionMask, Tensor pixelValues, List<GridThw> grids,
      boolean withLogits) {
    return forward(inputIds, attentionMask, pixelValues, grids, withLogits, null);
  }

  /** Prefill forward that also fills {@code cache} (when not null) for decoding. */
  public Output forward(Tensor inputIds, Tensor attentionMask, Tensor pixelValues, List<GridThw> grids,
      boolean withLogits, KvCache cache) {
    return forward(inputIds, attentionMask, pixelValues, grids, withLogits, cache, null);
  }

  /**
   * @param imageEmbeds (image tokens, H) features computed earlier ({@link #imageEmbeds}), used instead of the tower
   *     when not null
   */
  public Output forward(Tensor inputIds, Tensor attentionMask, Tensor pixelValues, List<GridThw> grids,
      boolean withLogits, KvCache cache, Tensor imageEmbeds) {
    return forward(inputIds, attentionMask, pixelValues, grids, withLogits, cache, imageEmbeds, 0);
  }

  /** @param from keep positions from..L-1 of the final hidden state (and logits) only; 0 keeps all */
  Output forward(Tensor inputIds, Tensor attentionMask, Tensor pixelValues, List<GridThw> grids,
      boolean withLogits, KvCache cache, Tensor imageEmbeds, int from) {
    int b = (int) inputIds.size(0);
    int l = (int) inputIds.size(1);
    // With from > 0 the positions after it are generated text (the GRPO passes): an <|image_pad|> or
    // <|vision_start|> the policy sampled there is an ordinary token, as generation embedded and positioned it, so
    // image slots and M-RoPE's image scan see the prompt only.
    long[] ids = org.vlmr1.model.VlmModel.promptOnly(longs(inputIds), b, l, from);
    long[] mask = attentionMask == null ? Generator.ones(b * l) : longs(attentionMask);
    Tensor emb = decoder.embed(inputIds);                                                   // (B, L, H)
    Tensor vis = null;
    if (imageEmbeds != null || (pixelValues != null && !grids.isEmpty())) {
      vis = (imageEmbeds != null ? imageEmbeds : vision.forward(pixelValues, grids)).to(emb.scalar_type()); // (N_img, H)
      Tensor scan = from > 0 ? torch.tensor(ids).reshape(b, l) : inputIds;                  // (B, L)
      Tensor isImage = scan.eq(new Scalar(imageTokenId));
      long count = isImage.sum().item_long();
      if (count != vis.size(0)) {
        throw new IllegalArgumentException("image features and image tokens do not match: tokens " + count
            + ", features " + vis.size(0));
      }
      emb = emb.masked_scatter(isImage.unsqueeze(-1).expand_as(emb), vis);
    }
    QwenRope.Positions pos = QwenRope.ropeIndex(ids, mask, b, l, grids == null ? List.of() : grids,
        imageTokenId, cfg.visionStartTokenId(), cfg.vision().spatialMergeSize());
    Tensor[] cs = QwenRope.cosSin(pos.positionIds(), cfg.ropeTheta(), cfg.headDim(), cfg.mropeSection());
    Tensor cos = cs[0].to(emb.scalar_type());
    Tensor sin = cs[1].to(emb.scalar_type());
    Tensor attnMask = Qwen2Decoder.causalMask(attentionMask != null ? attentionMask
        : torch.tensor(mask).reshape(b, l));                                                 // (B, 1, L, L)
    List<Tensor> hidden = new ArrayList<>();
    hidden.add(emb);
    Tensor normed = decoder.run(emb, cos, sin, attnMask, cache, from == 0 ? hidden : null, from);
    if (from > 0) {
      hidden.add(normed);
    }
    Tensor logits = withLogits ? torch.linear(normed, lmHead()) : null;
    return new Output(logits, hidden, vis, pos);
  }

  @Override
  public java.util.Map<String, Tensor> forwardOutputs(Tensor inputIds, Tensor attentionMask,
      java.util.Map<String, Tensor> multimodal, List<GridThw> grids) {
    Output o = forward(inputIds, attentionMask, multimodal.get("pixel_values"), grids, true);
    java.util.Map<String, Tensor> out = new java.util.LinkedHashMap<>();
    out.put("logits", o.logits().to(ScalarType.Float));
    if (o.visionEmbeds() != null) {
      out.put("vision_embeds", o.visionEmbeds());
    }
    out.put("position_ids", o.positions().positionIds());
    out.put("rope_deltas", o.positions().ropeDeltas());
    return out;
  }

  @Override
  public Tensor lastHidden(Tensor inputIds, Tensor attentionMask, java.util.Map<String, Tensor> multimodal,
      List<GridThw> grids) {
    Output o = forward(inputIds, attentionMask, multimodal.get("pixel_values"), grids, false, null,
        multimodal.get(IMAGE_EMBEDS));
    return o.hiddenStates().get(o.hiddenStates().size() - 1);
  }

  @Override
  public Tensor lastHidden(Tensor inputIds, Tensor attentionMask, java.util.Map<String, Tensor> multimodal,
      List<GridThw> grids, int from) {
    Output o = forward(inputIds, attentionMask, multimodal.get("pixel_values"), grids, false, null,
        multimodal.get(IMAGE_EMBEDS), from);
    return o.hiddenStates().get(o.hiddenStates().size() - 1);
  }

  @Override
  public Tensor imageEmbeds(java.util.Map<String, Tensor> multimodal, List<GridThw> grids) {
    Tensor pv = multimodal.get("pixel_values");
    return pv == null || grids.isEmpty() ? null : vision.forward(pv, grids);
  }

  @Override
  public Generation generate(Tensor inputIds, Tensor attentionMask, java.util.Map<String, Tensor> multimodal,
      List<GridThw> grids, org.vlmr1.model.SamplingConfig cfg, long[] eosIds, long padId, long step,
      long firstSampleIndex) {
    Generator.Result r = QwenGenerator.generate(this, inputIds, attentionMask, multimodal.get("pixel_values"),
        grids, cfg, eosIds, padId, step, firstSampleIndex, false, multimodal.get(IMAGE_EMBEDS));
    return new Generation(r.ids(), r.mask());
  }

  @Override
  public java.util.Map<String, Tensor> namedParameters() {
    return w.asMap();
  }

  /** A new KV cache for this model. */
  public KvCache newCache() {
    return decoder.newCache();
  }

  /**
   * One decode step: {@code tokens} (B, 1) at cache index c get position c + ropeDelta on all three streams
   * (transformers 4.50's Qwen2.5-VL decode rule), attend to every cached key whose mask is 1.
   *
   * @param fullMask (B, c + 1) int64 attention mask including the new token
   * @return (B, V) logits of the new position
   */
  public Tensor decode(Tensor tokens, long[] fullMask, Tensor ropeDeltas, KvCache cache) {
    int b = (int) tokens.size(0);
    long c = cache.length();
    Tensor emb = decoder.embed(tokens);                                                       // (B, 1, H)
    Tensor pos = ropeDeltas.add(new Scalar(c)).reshape(1, b, 1).expand(3, b, 1).contiguous(); // (3, B, 1)
    Tensor[] cs = QwenRope.cosSin(pos, cfg.ropeTheta(), cfg.headDim(), cfg.mropeSection());
    Tensor cos = cs[0].to(emb.scalar_type());
    Tensor sin = cs[1].to(emb.scalar_type());
    Tensor attnMask = Qwen2Decoder.decodeMask(fullMask, b, (int) (c + 1), emb.scalar_type().intern());
    Tensor normed = decoder.run(emb, cos, sin, attnMask, cache, null);
    return torch.linear(normed, lmHead()).select(1, 0);                                        // (B, V)
  }

  /** The LM head's weight: lm_head.weight, or the embedding when tied or absent (Qwen2.5-VL-3B). */
  public Tensor lmHead() {
    return decoder.lmHead();
  }

  @Override
  public boolean lmHeadTied() {
    return decoder.tied();
  }

  static long[] longs(Tensor t) {
    return TensorChecks.longs(t);
  }

  @Override
  public void close() {
    w.close();
  }

  @Override
  public String toString() {
    return "QwenVlModel(" + cfg.modelType() + ", " + cfg.numLayers() + " layers, hidden " + cfg.hiddenSize()
        + ", vocab " + cfg.vocabSize() + ", " + TensorChecks.dtype(w.get("model.embed_tokens.weight")) + ")";
  }
}
