// InternLM2 language models inside InternVL (2.5-2B/8B/26B) store attention as one packed wqkv matrix and use their
// own key names (ARCHITECTURES.md B2). Loading unpacks them into the Qwen2 layout the shared decoder reads; saving
// packs them back, so a checkpoint trained here keeps the layout its remote code expects.
package org.vlmr1.module.internvl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.model.DecoderConfig;
import org.vlmr1.model.LoraPart;
import org.vlmr1.model.Weights;

/** Key and layout conversion between InternLM2 and the shared Qwen2 decoder. */
final class InternLm2Keys {
  private static final String LM = "language_model.";
  private static final String M = LM + "model.";
  /** InternLM2 name suffix (per layer) -> Qwen2 name suffix; wqkv is handled separately. */
  private static final String[][] LAYER = {
      {"attention.wo.weight", "self_attn.o_proj.weight"},
      {"feed_forward.w1.weight", "mlp.gate_proj.weight"},
      {"feed_forward.w3.weight", "mlp.up_proj.weight"},
      {"feed_forward.w2.weight", "mlp.down_proj.weight"},
      {"attention_norm.weight", "input_layernorm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"}};
  private static final String[][] TOP = {
      {M + "tok_embeddings.weight", M + "embed_tokens.weight"},
      {LM + "output.weight", LM + "lm_head.weight"}};

  private InternLm2Keys() {}

  /** The LM head's module path in InternLM2ForCausalLM (what PEFT names its adapter by). */
  static final String HEAD_MODULE = LM + "output";

  /**
   * The unpacked modules as pieces of InternLM2's PEFT modules (LoraPart): q_proj is rows 0..g*hd-1 of every KV
   * group of wqkv's (kv, (g + 2) * hd) rows, k_proj rows g*hd.., v_proj rows (g+1)*hd.. (the layout {@link #unpack}
   * reads); wo, w1, w3, w2 and output are renames.
   */
  static Map<String, LoraPart> loraParts(DecoderConfig llm) {
    Map<String, LoraPart> out = new LinkedHashMap<>();
    int kv = llm.numKvHeads();
    int g = llm.numHeads() / kv;
    long hd = llm.headDim();
    for (int i = 0; i < llm.numLayers(); i++) {
      String p = M + "layers." + i + ".";
      String wqkv = p + "attention.wqkv";
      long rows = (g + 2) * hd;
      out.put(p + "self_attn.q_proj", new LoraPart(wqkv, kv, rows, 0, g * hd));
      out.put(p + "self_attn.k_proj", new LoraPart(wqkv, kv, rows, g * hd, hd));
      out.put(p + "self_attn.v_proj", new LoraPart(wqkv, kv, rows, (g + 1) * hd, hd));
      for (String[] r : LAYER) {
        if (r[1].endsWith("_proj.weight")) {
          out.put(p + strip(r[1]), LoraPart.whole(p + strip(r[0])));
        }
      }
    }
    out.put(LM + "lm_head", LoraPart.whole(HEAD_MODULE));
    return out;
  }

  private static String strip(String weightKey) {
    return weightKey.substring(0, weightKey.length() - ".weight".length());
  }

  /** Renames and unpacks in place: wqkv (kv, g + 2, hd, H) -> q (heads*hd, H), k and v (kv*hd, H). */
  static void unpack(Weights w, DecoderConfig llm) {
    Map<String, Tensor> add = new LinkedHashMap<>();
    List<String> remove = new ArrayList<>();
    for (String[] r : TOP) {
      move(w, r[0], r[1], add, remove);
    }
    int kv = llm.numKvHeads();
    int g = llm.numHeads() / kv;
    long hd = llm.headDim();
    long h = llm.hiddenSize();
    for (int i = 0; i < llm.numLayers(); i++) {
      String p = M + "layers." + i + ".";
      for (String[] r : LAYER) {
        move(w, p + r[0], p + r[1], add, remove);
      }
      String packed = p + "attention.wqkv.weight";
      Tensor blocks = w.get(packed, (long) kv * (g + 2) * hd, h).reshape(kv, g + 2, hd, h);
      add.put(p + "self_attn.q_proj.weight", blocks.narrow(1, 0, g).reshape(kv * g * hd, h).clone());
      add.put(p + "self_attn.k_proj.weight", blocks.select(1, g).reshape(kv * hd, h).clone());
      add.put(p + "self_attn.v_proj.weight", blocks.select(1, g + 1).reshape(kv * hd, h).clone());
      remove.add(packed);
    }
    w.replace(add, remove);
  }

  /** The inverse of {@link #unpack}, as a new name -> tensor map for saving (tensors owned by the caller's scope). */
  static Map<String, Tensor> pack(Map<String, Tensor> qwen, DecoderConfig llm) {
    Map<String, Tensor> out = new LinkedHashMap<>(qwen);
    for (String[] r : TOP) {
      rename(out, r[1], r[0]);
    }
    int kv = llm.numKvHeads();
    int g = llm.numHeads() / kv;
    long hd = llm.headDim();
    long h = llm.hiddenSize();
    for (int i = 0; i < llm.numLayers(); i++) {
      String p = M + "layers." + i + ".";
      for (String[] r : LAYER) {
        rename(out, p + r[1], p + r[0]);
      }
      Tensor q = out.remove(p + "self_attn.q_proj.weight").reshape(kv, g, hd, h);
      Tensor k = out.remove(p + "self_attn.k_proj.weight").reshape(kv, 1, hd, h);
      Tensor v = out.remove(p + "self_attn.v_proj.weight").reshape(kv, 1, hd, h);
      out.put(p + "attention.wqkv.weight", torch.cat(new TensorVector(q, k, v), 1).reshape((long) kv * (g + 2) * hd,
          h));
    }
    return out;
  }

  private static void move(Weights w, String from, String to, Map<String, Tensor> add, List<String> remove) {
    if (w.has(from)) {
      add.put(to, w.get(from));
      remove.add(from);
    }
  }

  private static void rename(Map<String, Tensor> m, String from, String to) {
    Tensor t = m.remove(from);
    if (t != null) {
      m.put(to, t);
    }
  }
}
