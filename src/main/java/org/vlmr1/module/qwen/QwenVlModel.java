// Qwen2.5-VL for conditional generation (ARCHITECTURES.md A5-A9): vision tower, image embeddings scattered at
// <|image_pad|>, the Qwen2 decoder with M-RoPE, GQA with QKV bias, RMSNorm, SwiGLU, tied or untied lm_head.
package org.vlmr1.module.qwen;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.model.Layers;
import org.vlmr1.model.Weights;
import org.vlmr1.module.GridThw;

/** The model: weights plus forward. Build it outside a PointerScope; run each forward inside one. */
public final class QwenVlModel implements org.vlmr1.model.VlmModel {
  private final QwenConfig cfg;
  private final Weights w;
  private final QwenVision vision;

  public QwenVlModel(QwenConfig cfg, Weights w) {
    this.cfg = cfg;
    this.w = w;
    this.vision = new QwenVision(cfg.vision(), w);
    w.get("model.embed_tokens.weight", cfg.vocabSize(), cfg.hiddenSize());
  }

  /** Loads config.json and the safetensors of a checkpoint (either key convention). */
  public static QwenVlModel load(Path checkpoint) throws IOException {
    QwenConfig cfg = QwenConfig.read(checkpoint);
    Weights w = Weights.load(checkpoint, QwenVlModel::normaliseKey);
    return new QwenVlModel(cfg, w);
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
  public void save(Path out) throws IOException {
    org.vlmr1.model.Checkpoints.save(w.asMap(), w.source(), out, org.vlmr1.model.Checkpoints.SHARD_BYTES);
  }

  /** Converts the floating weights (e.g. to bf16 for training). */
  public void castTo(ScalarType dtype) {
    w.castFloating(dtype);
  }

  public QwenConfig config() {
    return cfg;
  }

  public QwenVision vision() {
    return vision;
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
    int b = (int) inputIds.size(0);
    int l = (int) inputIds.size(1);
    long[] ids = longs(inputIds);
    long[] mask = attentionMask == null ? ones(b * l) : longs(attentionMask);
    Tensor emb = torch.embedding(w.get("model.embed_tokens.weight"), inputIds);            // (B, L, H)
    Tensor vis = null;
    if (pixelValues != null && !grids.isEmpty()) {
      vis = vision.forward(pixelValues, grids).to(emb.scalar_type());                       // (N_img, H)
      Tensor isImage = inputIds.eq(new Scalar(cfg.imageTokenId()));
      long count = isImage.sum().item_long();
      if (count != vis.size(0)) {
        throw new IllegalArgumentException("image features and image tokens do not match: tokens " + count
            + ", features " + vis.size(0));
      }
      emb = emb.masked_scatter(isImage.unsqueeze(-1).expand_as(emb), vis);
    }
    QwenRope.Positions pos = QwenRope.ropeIndex(ids, mask, b, l, grids == null ? List.of() : grids,
        cfg.imageTokenId(), cfg.visionStartTokenId(), cfg.vision().spatialMergeSize());
    Tensor[] cs = QwenRope.cosSin(pos.positionIds(), cfg.ropeTheta(), cfg.headDim(), cfg.mropeSection());
    Tensor cos = cs[0].to(emb.scalar_type());
    Tensor sin = cs[1].to(emb.scalar_type());
    Tensor attnMask = causalMask(mask, b, l, emb.scalar_type().intern());                  // (B, 1, L, L)
    List<Tensor> hidden = new ArrayList<>();
    hidden.add(emb);
    Tensor x = emb;
    for (int i = 0; i < cfg.numLayers(); i++) {
      x = layer(i, x, cos, sin, attnMask, cache);
      if (i < cfg.numLayers() - 1) {
        hidden.add(x);
      }
    }
    Tensor normed = Layers.rmsNorm(x, w.get("model.norm.weight"), cfg.rmsNormEps());
    hidden.add(normed);
    Tensor logits = withLogits ? torch.linear(normed, lmHead()) : null;
    return new Output(logits, hidden, vis, pos);
  }

  @Override
  public Tensor lastHidden(Tensor inputIds, Tensor attentionMask, java.util.Map<String, Tensor> multimodal,
      List<GridThw> grids) {
    Output o = forward(inputIds, attentionMask, multimodal.get("pixel_values"), grids, false);
    return o.hiddenStates().get(o.hiddenStates().size() - 1);
  }

  @Override
  public Generation generate(Tensor inputIds, Tensor attentionMask, java.util.Map<String, Tensor> multimodal,
      List<GridThw> grids, org.vlmr1.model.SamplingConfig cfg, long[] eosIds, long padId, long step,
      long firstSampleIndex) {
    QwenGenerator.Result r = QwenGenerator.generate(this, inputIds, attentionMask, multimodal.get("pixel_values"),
        grids, cfg, eosIds, padId, step, firstSampleIndex, false);
    return new Generation(r.ids(), r.mask());
  }

  @Override
  public java.util.Map<String, Tensor> namedParameters() {
    return w.asMap();
  }

  /** A new KV cache for this model. */
  public KvCache newCache() {
    return new KvCache(cfg.numLayers());
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
    Tensor emb = torch.embedding(w.get("model.embed_tokens.weight"), tokens);                 // (B, 1, H)
    Tensor pos = ropeDeltas.add(new Scalar(c)).reshape(1, b, 1).expand(3, b, 1).contiguous(); // (3, B, 1)
    Tensor[] cs = QwenRope.cosSin(pos, cfg.ropeTheta(), cfg.headDim(), cfg.mropeSection());
    Tensor cos = cs[0].to(emb.scalar_type());
    Tensor sin = cs[1].to(emb.scalar_type());
    int len = (int) (c + 1);
    float min = emb.scalar_type().intern() == ScalarType.BFloat16 ? -3.3895314e38f : -Float.MAX_VALUE;
    float[] m = new float[b * len];
    for (int i = 0; i < b * len; i++) {
      m[i] = fullMask[i] == 1 ? 0f : min;
    }
    Tensor attnMask = torch.tensor(m).reshape(b, 1, 1, len).to(emb.scalar_type());
    Tensor x = emb;
    for (int i = 0; i < cfg.numLayers(); i++) {
      x = layer(i, x, cos, sin, attnMask, cache);
    }
    Tensor normed = Layers.rmsNorm(x, w.get("model.norm.weight"), cfg.rmsNormEps());
    return torch.linear(normed, lmHead()).select(1, 0);                                        // (B, V)
  }

  /** The LM head's weight: lm_head.weight, or the embedding when tied or absent (Qwen2.5-VL-3B). */
  public Tensor lmHead() {
    return !cfg.tieWordEmbeddings() && w.has("lm_head.weight") ? w.get("lm_head.weight")
        : w.get("model.embed_tokens.weight");
  }

  /** Additive mask: 0 where key k <= query q and k is not padding, the dtype's minimum elsewhere (eager's rule). */
  static Tensor causalMask(long[] mask, int b, int l, ScalarType dt) {
    float min = dt == ScalarType.BFloat16 ? -3.3895314e38f : -Float.MAX_VALUE;
    float[] m = new float[b * l * l];
    for (int row = 0; row < b; row++) {
      for (int q = 0; q < l; q++) {
        for (int k = 0; k < l; k++) {
          m[(row * l + q) * l + k] = k <= q && mask[row * l + k] == 1 ? 0f : min;
        }
      }
    }
    return torch.tensor(m).reshape(b, 1, l, l).to(dt);
  }

  /** Per-layer keys and values after RoPE, before the GQA repeat: (B, kv, cached length, hd). */
  public static final class KvCache implements AutoCloseable {
    final Tensor[] k;
    final Tensor[] v;

    @Override
    public void close() {
      for (int i = 0; i < k.length; i++) {
        if (k[i] != null) {
          k[i].releaseReference();
          v[i].releaseReference();
          k[i] = null;
          v[i] = null;
        }
      }
    }

    KvCache(int layers) {
      k = new Tensor[layers];
      v = new Tensor[layers];
    }

    long length() {
      return k[0] == null ? 0 : k[0].size(2);
    }
  }

  private Tensor layer(int i, Tensor x, Tensor cos, Tensor sin, Tensor attnMask) {
    return layer(i, x, cos, sin, attnMask, null);
  }

  private Tensor layer(int i, Tensor x, Tensor cos, Tensor sin, Tensor attnMask, KvCache cache) {
    String p = "model.layers." + i + ".";
    long b = x.size(0);
    long l = x.size(1);
    long hd = cfg.headDim();
    int heads = cfg.numHeads();
    int kv = cfg.numKvHeads();
    Tensor h = Layers.rmsNorm(x, w.get(p + "input_layernorm.weight"), cfg.rmsNormEps());
    Tensor q = Layers.linear(h, w.get(p + "self_attn.q_proj.weight"), w.get(p + "self_attn.q_proj.bias"))
        .reshape(b, l, heads, hd).transpose(1, 2);                                           // (B, heads, L, hd)
    Tensor k = Layers.linear(h, w.get(p + "self_attn.k_proj.weight"), w.get(p + "self_attn.k_proj.bias"))
        .reshape(b, l, kv, hd).transpose(1, 2);                                              // (B, kv, L, hd)
    Tensor v = Layers.linear(h, w.get(p + "self_attn.v_proj.weight"), w.get(p + "self_attn.v_proj.bias"))
        .reshape(b, l, kv, hd).transpose(1, 2);
    q = q.mul(cos).add(Layers.rotateHalf(q).mul(sin));
    k = k.mul(cos).add(Layers.rotateHalf(k).mul(sin));
    if (cache != null) {
      if (cache.k[i] != null) {
        k = torch.cat(new org.bytedeco.pytorch.TensorVector(cache.k[i], k), 2);
        v = torch.cat(new org.bytedeco.pytorch.TensorVector(cache.v[i], v), 2);
        cache.k[i].releaseReference();
        cache.v[i].releaseReference();
      }
      cache.k[i] = k;
      cache.v[i] = v;
      k.retainReference(); // the cache outlives the step's PointerScope
      v.retainReference();
    }
    if (kv != heads) {
      k = torch.repeat_interleave(k, heads / kv, new org.bytedeco.pytorch.LongOptional(1),
          new org.bytedeco.pytorch.LongOptional());
      v = torch.repeat_interleave(v, heads / kv, new org.bytedeco.pytorch.LongOptional(1),
          new org.bytedeco.pytorch.LongOptional());
    }
    Tensor o = torch.scaled_dot_product_attention(q, k, v, new TensorOptional(attnMask), 0.0, false,
        new org.bytedeco.pytorch.DoubleOptional(), false);                                   // (B, heads, L, hd)
    o = o.transpose(1, 2).reshape(b, l, heads * hd);
    x = x.add(torch.linear(o, w.get(p + "self_attn.o_proj.weight")));
    h = Layers.rmsNorm(x, w.get(p + "post_attention_layernorm.weight"), cfg.rmsNormEps());
    return x.add(Layers.swiGlu(h, w.get(p + "mlp.gate_proj.weight"), null, w.get(p + "mlp.up_proj.weight"), null,
        w.get(p + "mlp.down_proj.weight"), null));
  }

  static long[] longs(Tensor t) {
    Tensor c = t.to(ScalarType.Long).contiguous();
    long[] out = new long[(int) c.numel()];
    c.data_ptr_long().get(out);
    return out;
  }

  private static long[] ones(int n) {
    long[] o = new long[n];
    java.util.Arrays.fill(o, 1L);
    return o;
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
