// InternVLChatModel (ARCHITECTURES.md B5-B8): InternViT features of the flagged tiles placed at <IMG_CONTEXT>
// positions of the token embeddings, then the Qwen2-shaped language model with 1-D RoPE whose positions come from
// the attention mask (cumsum - 1), in generation and in every training forward (CONVENTIONS.md "Batches").
package org.vlmr1.module.internvl;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.model.Checkpoints;
import org.vlmr1.model.Generator;
import org.vlmr1.model.KvCache;
import org.vlmr1.model.Qwen2Decoder;
import org.vlmr1.model.Rope;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.model.VlmModel;
import org.vlmr1.model.Weights;
import org.vlmr1.module.GridThw;

/** The model: weights plus forward. Build it outside a PointerScope; run each forward inside one. */
public final class InternVlModel implements VlmModel {
  private final InternVlConfig cfg;
  private final Weights w;
  private final InternVision vision;
  private final Qwen2Decoder decoder;
  private volatile long imgContextTokenId;

  public InternVlModel(InternVlConfig cfg, Weights w) {
    this.cfg = cfg;
    this.w = w;
    this.vision = new InternVision(cfg, w);
    this.decoder = new Qwen2Decoder(cfg.llm(), w, "language_model.model.", "language_model.lm_head.weight");
    w.rejectUnexpected();
    this.imgContextTokenId = cfg.imgContextTokenId();
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
  org.vlmr1.model.Weights weightsForTests() {
    return w;
  }

  /** The <IMG_CONTEXT> id whose positions receive the image features (set by the module's postModelInit). */
  public void setImgContextTokenId(long id) {
    this.imgContextTokenId = id;
  }

  public long imgContextTokenId() {
    return imgContextTokenId;
  }

  /**
   * @param logits (B, L, V) or null when not asked for
   * @param hiddenStates [inputs_embeds after image replacement, layer outputs..., final-norm output]
   * @param visionEmbeds (flagged tiles, num_image_token, H) or null without pixels
   */
  public record Output(Tensor logits, List<Tensor> hiddenStates, Tensor visionEmbeds) {}

  /**
   * Prefill forward of a left-padded batch.
   *
   * @param inputIds (B, L) int64
   * @param attentionMask (B, L) int64, or null for all ones
   * @param pixelValues (tiles, 3, S, S) or null
   * @param imageFlags (tiles, 1) or (tiles) int64, or null for all ones: tiles with flag 0 (dummy tiles of text-only
   *     examples) are dropped before the tower, as forward's vit_embeds[image_flags == 1] drops them after it
   * @param cache filled for decoding when not null
   */
  public Output forward(Tensor inputIds, Tensor attentionMask, Tensor pixelValues, Tensor imageFlags,
      boolean withLogits, KvCache cache) {
    return forward(inputIds, attentionMask, pixelValues, imageFlags, withLogits, cache, null);
  }

  /**
   * @param imageEmbeds (flagged tiles, 1 + patches, C) InternViT outputs computed earlier ({@link #imageEmbeds}),
   *     used instead of running the tower when not null (the trainable mlp1 still runs)
   */
  public Output forward(Tensor inputIds, Tensor attentionMask, Tensor pixelValues, Tensor imageFlags,
      boolean withLogits, KvCache cache, Tensor imageEmbeds) {
    return forward(inputIds, attentionMask, pixelValues, imageFlags, withLogits, cache, imageEmbeds, 0);
  }

  /** @param from keep positions from..L-1 of the final hidden state (and logits) only; 0 keeps all */
  Output forward(Tensor inputIds, Tensor attentionMask, Tensor pixelValues, Tensor imageFlags,
      boolean withLogits, KvCache cache, Tensor imageEmbeds, int from) {
    int b = (int) inputIds.size(0);
    int l = (int) inputIds.size(1);
    long[] mask = attentionMask == null ? Generator.ones(b * l) : longs(attentionMask);
    Tensor emb = decoder.embed(inputIds);                                                    // (B, L, H)
    Tensor vis = null;
    // Positions after from (> 0) are generated text: a sampled <IMG_CONTEXT> there is an ordinary token.
    Tensor isContext = (from > 0 ? torch.tensor(VlmModel.promptOnly(longs(inputIds), b, l, from)).reshape(b, l)
        : inputIds).eq(new Scalar(imgContextTokenId));                                        // (B, L)
    long tokens = isContext.sum().item_long();
    Tensor tiles = imageEmbeds != null ? null : flaggedTiles(pixelValues, imageFlags);
    if (imageEmbeds != null || (tiles != null && tiles.size(0) > 0)) {
      requireContextId();
      vis = (imageEmbeds != null ? vision.project(imageEmbeds) : vision.extractFeature(tiles))
          .to(emb.scalar_type());                                                             // (N, T, H)
      long features = vis.size(0) * vis.size(1);
      if (tokens != features) {
        throw new IllegalArgumentException("image features and <IMG_CONTEXT> tokens do not match: tokens " + tokens
            + ", features " + features + " (" + vis.size(0) + " tiles x " + vis.size(1) + ")");
      }
      emb = emb.masked_scatter(isContext.unsqueeze(-1).expand_as(emb), vis.reshape(features, -1));
    } else if (tokens > 0 && imgContextTokenId >= 0) {
      throw new IllegalArgumentException(tokens + " <IMG_CONTEXT> tokens but no image tiles (pixel_values with "
          + "image_flags 1)");
    }
    Tensor maskT = attentionMask == null ? torch.ones(b, l).to(ScalarType.Long) : attentionMask;  // (B, L)
    Tensor pos = Rope.positionsFromMask(maskT);                                              // (B, L)
    Tensor[] cs = Rope.cosSin(pos, cfg.llm());
    Tensor attnMask = Qwen2Decoder.causalMask(maskT);                                        // (B, 1, L, L)
    List<Tensor> hidden = new ArrayList<>();
    hidden.add(emb);
    Tensor normed = decoder.run(emb, cs[0].to(emb.scalar_type()), cs[1].to(emb.scalar_type()), attnMask, cache,
        from == 0 ? hidden : null, from);
    if (from > 0) {
      hidden.add(normed);
    }
    Tensor logits = withLogits ? torch.linear(normed, lmHead()) : null;
    return new Output(logits, hidden, vis);
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
    if (imgContextTokenId < 0) {
      throw new IllegalStateException("the <IMG_CONTEXT> token id is unknown: give --img_context_token_id or a "
          + "checkpoint with tokenizer files (the module's postModelInit sets it)");
    }
  }

  /**
   * One decode step: the new token's position is the count of real tokens before it (cumsum(mask) - 1, transformers'
   * prepare_inputs_for_generation), its embedding from the token table (generation feeds ids after the prefill).
   *
   * @param fullMask (B, T + 1) mask including the new token
   * @return (B, V) logits
   */
  public Tensor decode(Tensor tokens, long[] fullMask, KvCache cache) {
    int b = (int) tokens.size(0);
    int len = (int) (cache.length() + 1);
    long[] pos = new long[b];
    for (int r = 0; r < b; r++) {
      long c = 0;
      for (int t = 0; t < len; t++) {
        c += fullMask[r * len + t];
      }
      pos[r] = c - 1;
    }
    Tensor emb = decoder.embed(tokens);                                                      // (B, 1, H)
    Tensor[] cs = Rope.cosSin(torch.tensor(pos).reshape(b, 1), cfg.llm());
    Tensor attnMask = Qwen2Decoder.decodeMask(fullMask, b, len, emb.scalar_type().intern());
    Tensor normed = decoder.run(emb, cs[0].to(emb.scalar_type()), cs[1].to(emb.scalar_type()), attnMask, cache,
        null);
    return torch.linear(normed, lmHead()).select(1, 0);                                       // (B, V)
  }

  /** Generation from a prompt batch; returns only the new tokens (InternVL is an embeds-input family). */
  public Generator.Result generate(Tensor inputIds, Tensor attentionMask, Tensor pixelValues, Tensor imageFlags,
      SamplingConfig sampling, long[] eosIds, long padId, long step, long firstSampleIndex, boolean keepLogits) {
    return generate(inputIds, attentionMask, pixelValues, imageFlags, sampling, eosIds, padId, step, firstSampleIndex,
        keepLogits, null);
  }

  /** {@link #generate} with image features computed earlier (or null to run the vision tower). */
  public Generator.Result generate(Tensor inputIds, Tensor attentionMask, Tensor pixelValues, Tensor imageFlags,
      SamplingConfig sampling, long[] eosIds, long padId, long step, long firstSampleIndex, boolean keepLogits,
      Tensor imageEmbeds) {
    int b = (int) inputIds.size(0);
    int l = (int) inputIds.size(1);
    long[] mask = attentionMask == null ? Generator.ones(b * l) : longs(attentionMask);
    Generator.Decoding d = new Generator.Decoding() {
      @Override
      public Tensor prefill(KvCache cache) {
        Output o = forward(inputIds, attentionMask, pixelValues, imageFlags, false, cache, imageEmbeds);
        Tensor last = o.hiddenStates().get(o.hiddenStates().size() - 1).select(1, l - 1);    // (B, H)
        return torch.linear(last, lmHead());
      }

      @Override
      public Tensor step(Tensor tokens, long[] fullMask, KvCache cache) {
        return decode(tokens, fullMask, cache);
      }
    };
    try (KvCache cache = decoder.newCache()) {
      return Generator.run(d, cache, mask, b, l, sampling, eosIds, padId, step, firstSampleIndex, keepLogits);
    }
  }

  @Override
  public Map<String, Tensor> forwardOutputs(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      List<GridThw> grids) {
    Tensor pixels = multimodal.get("pixel_values");
    Output o = forward(inputIds, attentionMask, pixels, multimodal.get("image_flags"), true, null);
    Map<String, Tensor> out = new java.util.LinkedHashMap<>();
    out.put("logits", o.logits().to(ScalarType.Float));
    if (pixels != null) {
      // Every tile's features (dummy tiles included), (tiles, num_image_token, H), as extract_feature gives.
      out.put("vision_embeds", vision.extractFeature(pixels).to(ScalarType.Float));
    }
    return out;
  }

  @Override
  public Tensor lastHidden(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      List<GridThw> grids) {
    Output o = forward(inputIds, attentionMask, multimodal.get("pixel_values"), multimodal.get("image_flags"), false,
        null, multimodal.get(IMAGE_EMBEDS));
    return o.hiddenStates().get(o.hiddenStates().size() - 1);
  }

  @Override
  public Tensor lastHidden(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      List<GridThw> grids, int from) {
    Output o = forward(inputIds, attentionMask, multimodal.get("pixel_values"), multimodal.get("image_flags"), false,
        null, multimodal.get(IMAGE_EMBEDS), from);
    return o.hiddenStates().get(o.hiddenStates().size() - 1);
  }

  /** InternViT's output for the flagged tiles (the vision_model part; mlp1 is not a vision module and trains). */
  @Override
  public Tensor imageEmbeds(Map<String, Tensor> multimodal, List<GridThw> grids) {
    Tensor tiles = flaggedTiles(multimodal.get("pixel_values"), multimodal.get("image_flags"));
    return tiles == null || tiles.size(0) == 0 ? null : vision.tower(tiles);
  }

  @Override
  public Generation generate(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      List<GridThw> grids, SamplingConfig sampling, long[] eosIds, long padId, long step, long firstSampleIndex) {
    Generator.Result r = generate(inputIds, attentionMask, multimodal.get("pixel_values"),
        multimodal.get("image_flags"), sampling, eosIds, padId, step, firstSampleIndex, false,
        multimodal.get(IMAGE_EMBEDS));
    return new Generation(r.ids(), r.mask());
  }

  @Override
  public Tensor lmHead() {
    return decoder.lmHead();
  }

  @Override
  public boolean lmHeadTied() {
    return decoder.tied();
  }

  @Override
  public Map<String, Tensor> namedParameters() {
    return w.asMap();
  }

  @Override
  public void save(Path out) throws IOException {
    Map<String, Tensor> tensors = cfg.llmArch() == InternVlConfig.LlmArch.INTERNLM2
        ? InternLm2Keys.pack(w.asMap(), cfg.llm()) : w.asMap();
    Checkpoints.save(tensors, w.source(), out, Checkpoints.SHARD_BYTES);
  }

  @Override
  public void castTo(ScalarType dtype) {
    w.castFloating(dtype);
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
    return "InternVlModel(" + cfg.llmArch() + ", vision " + cfg.vision().numLayers() + " layers, llm "
        + cfg.llm().numLayers() + " layers, hidden " + cfg.llm().hiddenSize() + ", vocab " + cfg.llm().vocabSize()
        + ", " + TensorChecks.dtype(lmHead()) + ")";
  }
}
