// The Qwen2 text decoder shared by the families (transformers' Qwen2Model): token embedding, layers of RMSNorm ->
// GQA attention with rotary q/k (optional q/k/v biases) -> residual -> RMSNorm -> SwiGLU -> residual, a final RMSNorm,
// and the (tied or untied) LM head. Positions arrive as cos/sin tables, so M-RoPE (Qwen2.5-VL) and 1-D RoPE (InternVL)
// share every layer.
package org.vlmr1.model;

import java.util.List;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.DecodeKernels;

/**
 * A decoder over weights named {@code <prefix>embed_tokens.weight}, {@code <prefix>layers.N.*},
 * {@code <prefix>norm.weight} and an LM head key. Build it outside a PointerScope; run each forward inside one.
 */
public final class Qwen2Decoder {
  private final DecoderConfig cfg;
  private final Weights w;
  private final String prefix;
  private final String lmHeadKey;
  private final String lmHeadModule;

  /**
   * @param prefix "model." (Qwen2-VL / Qwen2.5-VL) or "language_model.model." (InternVL)
   * @param lmHeadKey the untied head's key; the embedding serves when tied or when the key is absent
   */
  public Qwen2Decoder(DecoderConfig cfg, Weights w, String prefix, String lmHeadKey) {
    this(cfg, w, prefix, lmHeadKey, lmHeadKey.substring(0, lmHeadKey.length() - ".weight".length()));
  }

  /**
   * @param lmHeadModule the head's module path as PEFT names it (a LoRA adapter on it is keyed by it), when the
   *     family's own name differs from the key's (InternLM2's {@code language_model.output})
   */
  public Qwen2Decoder(DecoderConfig cfg, Weights w, String prefix, String lmHeadKey, String lmHeadModule) {
    this.cfg = cfg;
    this.w = w;
    this.prefix = prefix;
    this.lmHeadKey = lmHeadKey;
    this.lmHeadModule = lmHeadModule;
    long h = cfg.hiddenSize();
    long kvDim = cfg.numKvHeads() * cfg.headDim();
    w.get(prefix + "embed_tokens.weight", cfg.vocabSize(), h);
    w.get(prefix + "norm.weight", h);
    for (int i = 0; i < cfg.numLayers(); i++) {
      String p = prefix + "layers." + i + ".";
      w.get(p + "self_attn.q_proj.weight", h, h);
      w.get(p + "self_attn.k_proj.weight", kvDim, h);
      w.get(p + "self_attn.v_proj.weight", kvDim, h);
      w.get(p + "self_attn.o_proj.weight", h, h);
      w.get(p + "mlp.gate_proj.weight", cfg.intermediateSize(), h);
      w.get(p + "mlp.up_proj.weight", cfg.intermediateSize(), h);
      w.get(p + "mlp.down_proj.weight", h, cfg.intermediateSize());
      w.get(p + "input_layernorm.weight", h);
      w.get(p + "post_attention_layernorm.weight", h);
      if (cfg.qkvBias()) {
        w.get(p + "self_attn.q_proj.bias", h);
        w.get(p + "self_attn.k_proj.bias", kvDim);
        w.get(p + "self_attn.v_proj.bias", kvDim);
      }
    }
    if (w.has(lmHeadKey)) { // present but tied: loaded, unused (transformers ties it)
      w.get(lmHeadKey, cfg.vocabSize(), h);
    }
  }

  public DecoderConfig config() {
    return cfg;
  }

  /** Token embeddings (B, L, H). */
  public Tensor embed(Tensor ids) {
    return torch.embedding(w.get(prefix + "embed_tokens.weight"), ids);
  }

  /** The LM head's weight (V, H): the untied head, or the embedding when tied or absent. */
  public Tensor lmHead() {
    Tensor head = lmHeadBase();
    LoraAdapters a = w.lora();
    // the head is used as a matrix (fused loss, generation), so its adapter is merged into it: W + (alpha / r) B A
    return a == null ? head : a.weight(lmHeadModule(), head);
  }

  /**
   * The LM head's own weight (V, H), without any LoRA adapter: a trained copy when the head is in modules_to_save and
   * adapters are on. A tied head is a module of its own: its copy is keyed by its own path, and a copy of the
   * embedding alone leaves it the base embedding (PEFT copies the embedding module; lm_head keeps the original).
   */
  public Tensor lmHeadBase() {
    if (!tied()) {
      return w.get(lmHeadKey);
    }
    LoraAdapters a = w.lora();
    Tensor copy = a == null ? null : a.saved(lmHeadModule + ".weight");
    return copy != null ? copy : w.base(prefix + "embed_tokens.weight");
  }

  /** The embedding matrix a tied head reads (the checkpoint's, never a trained copy), or null when untied. */
  public String tiedHeadSource() {
    return tied() ? prefix + "embed_tokens.weight" : null;
  }

  /** The LM head's module path (a tied head is a module of its own in transformers, so LoRA can target it). */
  public String lmHeadModule() {
    return lmHeadModule;
  }

  /** Whether the head is the embedding matrix (tied, or no untied head in the checkpoint). */
  public boolean tied() {
    return cfg.tieWordEmbeddings() || !w.has(lmHeadKey);
  }

  /** A cache that grows by concatenation (the length is not known). */
  public KvCache newCache() {
    return new KvCache(cfg.numLayers());
  }

  /** A cache preallocated for {@code capacity} tokens per row (prompt + max new tokens), written in place. */
  public KvCache newCache(long capacity) {
    return new KvCache(cfg.numLayers(), capacity);
  }

  /**
   * Runs every layer and the final norm.
   *
   * @param x (B, L, H) input embeddings
   * @param cos, sin (B, 1, L, head_dim) rotary tables in x's dtype
   * @param attnMask (B, 1, L, T) mask over the keys (T = cached + L): boolean (true = attend) or additive
   * @param cache filled (prefill) or extended (decode) when not null
   * @param hidden when not null, receives the input of every layer after the first and the final-norm output
   *     (transformers' output_hidden_states without the embeddings)
   * @return (B, L, H) final-norm hidden states
   */
  public Tensor run(Tensor x, Tensor cos, Tensor sin, Tensor attnMask, KvCache cache, List<Tensor> hidden) {
    return run(x, cos, sin, attnMask, cache, hidden, 0);
  }

  /**
   * {@link #run} returning only positions {@code from..L-1} (the final norm runs on those alone: the trainer needs the
   * completion positions, not the thousands of image-token positions before them).
   */
  public Tensor run(Tensor x, Tensor cos, Tensor sin, Tensor attnMask, KvCache cache, List<Tensor> hidden,
      int from) {
    // Each layer's temporaries go with a scope of its own, so a pass holds one layer's at a time, not every layer's
    // until the caller's scope closes (a 36-layer reference pass kept ~7 GB). Only the layer's output moves to the
    // caller's scope; autograd keeps what a backward needs, and the KV cache retains its own tensors.
    org.bytedeco.javacpp.PointerScope outer = org.bytedeco.javacpp.PointerScope.getInnerScope();
    for (int i = 0; i < cfg.numLayers(); i++) {
      if (outer == null) {
        x = layer(i, x, cos, sin, attnMask, cache);
      } else {
        try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope()) {
          x = layer(i, x, cos, sin, attnMask, cache);                                        // (B, L, H)
          outer.attach(x);
        }
      }
      if (hidden != null && i < cfg.numLayers() - 1) {
        hidden.add(x);
      }
    }
    Tensor normed = finalNorm(x, from);
    if (hidden != null) {
      hidden.add(normed);
    }
    return normed;
  }

  /**
   * The final RMSNorm of positions {@code from..L-1} of the last layer's output {@code x} (B, L, H): (B, L - from, H).
   */
  Tensor finalNorm(Tensor x, int from) {
    if (from > 0) {
      x = x.narrow(1, from, x.size(1) - from);
    }
    return Layers.rmsNorm(x, w.get(prefix + "norm.weight"), cfg.rmsNormEps());
  }

  /** The dtype the decoder computes in (its token embedding's). */
  ScalarType dtype() {
    return w.get(prefix + "embed_tokens.weight").scalar_type().intern();
  }

  /** Decoder layer {@code i} on x (B, L, H) -> (B, L, H); with a cache, its keys and values are cached too. */
  Tensor layer(int i, Tensor x, Tensor cos, Tensor sin, Tensor attnMask, KvCache cache) {
    String p = prefix + "layers." + i + ".";
    long b = x.size(0);
    long l = x.size(1);
    long hd = cfg.headDim();
    int heads = cfg.numHeads();
    int kv = cfg.numKvHeads();
    Tensor h = Layers.rmsNorm(x, w.get(p + "input_layernorm.weight"), cfg.rmsNormEps());
    Tensor[] qkv = qkv(h, p);                                                                // (B, L, out) each
    Tensor q = qkv[0].reshape(b, l, heads, hd).transpose(1, 2);                              // (B, heads, L, hd)
    Tensor k = qkv[1].reshape(b, l, kv, hd).transpose(1, 2);                                 // (B, kv, L, hd)
    Tensor v = qkv[2].reshape(b, l, kv, hd).transpose(1, 2);
    q = q.mul(cos).add(Layers.rotateHalf(q).mul(sin));
    k = k.mul(cos).add(Layers.rotateHalf(k).mul(sin));
    if (cache != null) {
      Tensor[] kvAll = cache.append(i, k, v);
      k = kvAll[0];
      v = kvAll[1];
    }
    Tensor o;
    if (kv != heads && l == 1) {
      // A decode step: the heads / kv query heads that share a KV head become that head's rows, so attention reads
      // the cache where it lies. Repeating K and V per query head (below) would copy the whole cache at every token.
      // The (B, 1, 1, T) decode mask broadcasts over the grouped rows.
      Tensor grouped = q.reshape(b, kv, heads / kv, hd);                                     // (B, kv, g, hd)
      o = torch.scaled_dot_product_attention(grouped, k, v, new TensorOptional(attnMask), 0.0, false,
          new DoubleOptional(), false).reshape(b, heads, 1, hd);                             // (B, heads, 1, hd)
    } else {
      if (kv != heads) {
        k = torch.repeat_interleave(k, heads / kv, new LongOptional(1), new LongOptional());
        v = torch.repeat_interleave(v, heads / kv, new LongOptional(1), new LongOptional());
      }
      o = torch.scaled_dot_product_attention(q, k, v, new TensorOptional(attnMask), 0.0, false,
          new DoubleOptional(), false);                                                      // (B, heads, L, hd)
    }
    o = o.transpose(1, 2).reshape(b, l, heads * hd);
    x = x.add(proj(o, p + "self_attn.o_proj"));
    h = Layers.rmsNorm(x, w.get(p + "post_attention_layernorm.weight"), cfg.rmsNormEps());
    return x.add(proj(swiGlu(h, p), p + "mlp.down_proj"));
  }

  /**
   * The q, k and v projections of h (B, L, H), LoRA terms included. A decode step on our kernels (Layers.linear's
   * rule) computes all three in one native call, its work split over their rows; otherwise one projection each.
   */
  private Tensor[] qkv(Tensor h, String p) {
    String[] modules = {p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj"};
    Tensor[] weights = new Tensor[3];
    Tensor[] biases = new Tensor[3];
    for (int j = 0; j < 3; j++) {
      weights[j] = w.get(modules[j] + ".weight");
      biases[j] = bias(modules[j] + ".bias");
    }
    Tensor[] out = new Tensor[3];
    if (!Layers.decodeRows(h, weights, biases)) {
      for (int j = 0; j < 3; j++) {
        out[j] = proj(h, modules[j]);
      }
      return out;
    }
    Tensor x = h.select(1, 0);                                                               // (B, H)
    Tensor[] y = DecodeKernels.projections(x, weights, biases);                              // (B, out) each
    for (int j = 0; j < 3; j++) {
      out[j] = w.addLora(x, modules[j], y[j]).unsqueeze(1);                                  // (B, 1, out)
    }
    return out;
  }

  /**
   * silu(gate(h)) * up(h) of h (B, L, H): a decode step on our kernels, without biases or active LoRA adapters on
   * gate and up, runs the fused kernel (one pass, no gate and up tensors); otherwise the two projections.
   */
  private Tensor swiGlu(Tensor h, String p) {
    String gate = p + "mlp.gate_proj";
    String up = p + "mlp.up_proj";
    Tensor[] weights = {w.get(gate + ".weight"), w.get(up + ".weight")};
    // (InternLM2's LoRA targets feed_forward.w1 / w3: loraActive maps the internal names to those)
    boolean plain = bias(gate + ".bias") == null && bias(up + ".bias") == null
        && !w.loraActive(gate) && !w.loraActive(up);
    if (plain && Layers.decodeRows(h, weights, null) && h.size(0) <= DecodeKernels.MAX_ROWS) {
      return DecodeKernels.swiGlu(h.select(1, 0), weights[0], weights[1]).unsqueeze(1);      // (B, 1, I)
    }
    return torch.silu(proj(h, gate)).mul(proj(h, up));                                       // (B, L, I)
  }

  /** The linear module {@code module} (weight, bias when the config has q/k/v biases) with its LoRA term if any. */
  private Tensor proj(Tensor x, String module) {
    return w.linear(x, module, w.get(module + ".weight"), bias(module + ".bias"));
  }

  private Tensor bias(String key) {
    return cfg.qkvBias() && w.has(key) ? w.get(key) : null;
  }

  /** The additive mask value transformers uses: the dtype's most negative finite number. */
  static float minValue(ScalarType dt) {
    return dt == ScalarType.BFloat16 ? -3.3895314e38f : -Float.MAX_VALUE;
  }

  /**
   * Prefill mask (B, 1, L, L), boolean (true = attend), built with libtorch ops on the attention mask's device: key k
   * is visible to query q when k <= q and k is not padding; a padding query sees itself only, so no row is empty
   * (transformers' _unmask_unattended keeps such rows finite too; their outputs are never read).
   *
   * @param attentionMask (B, L) 1 for tokens, 0 for left padding (any integer or boolean dtype)
   */
  public static Tensor causalMask(Tensor attentionMask) {
    long l = attentionMask.size(1);
    Tensor valid = attentionMask.ne(new Scalar(0));                                          // (B, L)
    Tensor idx = torch.arange(new Scalar(l),
        new TensorOptions(ScalarType.Long).device(new DeviceOptional(attentionMask.device())));     // (L)
    Tensor causal = idx.unsqueeze(1).ge(idx.unsqueeze(0));                                   // (L, L) [q, k]: k <= q
    Tensor self = idx.unsqueeze(1).eq(idx.unsqueeze(0));                                     // (L, L) k == q
    Tensor allowed = causal.unsqueeze(0).logical_and(valid.unsqueeze(1));                    // (B, L, L)
    Tensor padSelf = self.unsqueeze(0).logical_and(valid.logical_not().unsqueeze(2));        // (B, L, L)
    return allowed.logical_or(padSelf).unsqueeze(1);                                          // (B, 1, L, L)
  }

  /** Decode-step mask (B, 1, 1, T) over every cached key plus the new one. */
  public static Tensor decodeMask(long[] fullMask, int b, int len, ScalarType dt) {
    float min = minValue(dt);
    float[] m = new float[b * len];
    for (int i = 0; i < b * len; i++) {
      m[i] = fullMask[i] == 1 ? 0f : min;
    }
    return torch.tensor(m).reshape(b, 1, 1, len).to(dt);
  }
}
