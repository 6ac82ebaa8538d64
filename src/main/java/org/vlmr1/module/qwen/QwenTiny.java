// Tiny random Qwen2.5-VL checkpoints for tests and the demo (bin/vlmr1 init-tiny): the real vocabulary (151,936
// rows) and special ids, a small decoder and vision tower, Hugging Face layout with the Qwen2.5-VL tokenizer files;
// and (init-tiny --like qwen2_5_vl_3b) random ones at Qwen2.5-VL-3B's widths in the hub's bf16 shards.
package org.vlmr1.module.qwen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.Checkpoints;
import org.vlmr1.model.SafeTensorsWriter;

/** Writes tiny random Qwen2.5-VL checkpoints. */
public final class QwenTiny {
  private QwenTiny() {}

  /**
   * How the weights are written. TINY: float32, one model.safetensors, made in memory in layout order (the values every
   * existing tiny test was written against). HUB: bf16 shards of at most {@link Checkpoints#SHARD_BYTES} as the hub
   * ships them, made one tensor at a time in file order, so a 7.5 GB model never sits in memory whole.
   */
  public enum Layout { TINY, HUB }

  /** Sizes of a model; validated at construction. */
  public record Spec(int hiddenSize, int numLayers, int numHeads, int numKvHeads, int intermediateSize,
      int visionDepth, int visionHidden, int visionHeads, int visionIntermediate, List<Integer> fullAttBlocks,
      Layout layout, long seed) {
    public Spec {
      if (hiddenSize % numHeads != 0 || numHeads % numKvHeads != 0 || (hiddenSize / numHeads) % 8 != 0) {
        throw new IllegalArgumentException("hidden_size " + hiddenSize + " must split into " + numHeads
            + " heads of a multiple of 8 dims, and heads into " + numKvHeads + " KV heads");
      }
      if (visionHidden % visionHeads != 0 || (visionHidden / visionHeads) % 4 != 0 || numLayers < 1
          || visionDepth < 1 || visionIntermediate < 1) {
        throw new IllegalArgumentException("vision hidden " + visionHidden + " must split into " + visionHeads
            + " heads of a multiple of 4 dims; layers, vision depth and vision MLP >= 1");
      }
      fullAttBlocks = List.copyOf(fullAttBlocks);
      for (int b : fullAttBlocks) {
        if (b < 0 || b >= visionDepth) {
          throw new IllegalArgumentException("fullatt block " + b + " is outside the " + visionDepth
              + " vision blocks");
        }
      }
    }

    /** A tiny float32 model: vision MLP twice the vision width, full attention in the last vision block. */
    public Spec(int hiddenSize, int numLayers, int numHeads, int numKvHeads, int intermediateSize, int visionDepth,
        int visionHidden, int visionHeads, long seed) {
      this(hiddenSize, numLayers, numHeads, numKvHeads, intermediateSize, visionDepth, visionHidden, visionHeads,
          2 * visionHidden, List.of(visionDepth - 1), Layout.TINY, seed);
    }

    public static Spec defaults() {
      return new Spec(64, 2, 4, 2, 128, 2, 32, 2, 0);
    }

    /**
     * Qwen/Qwen2.5-VL-3B-Instruct's dimensions (docs/ARCHITECTURES.md A1) in the hub's bf16 shards, with
     * {@code numLayers} decoder layers and {@code visionDepth} vision blocks (36 and 32 for the real model; fewer
     * keep the width for a cheap test); fullatt blocks 7/15/23/31 kept where they exist.
     */
    public static Spec qwen25Vl3b(int numLayers, int visionDepth, long seed) {
      List<Integer> full = List.of(7, 15, 23, 31).stream().filter(b -> b < visionDepth).toList();
      return new Spec(2048, numLayers, 16, 2, 11008, visionDepth, 1280, 16, 3420, full, Layout.HUB, seed);
    }
  }

  static final long VOCAB = 151_936;

  /** A tiny Qwen2.5-VL checkpoint (see {@link #write(Spec, Path, String)}). */
  public static void write(Spec s, Path out) throws IOException {
    write(s, out, "qwen2_5_vl");
  }

  /**
   * Writes config.json, generation_config.json, model.safetensors and the tokenizer files into {@code out}.
   *
   * @param modelType qwen2_5_vl or qwen2_vl (LayerNorm + QuickGELU vision blocks, no windows, LayerNorm merger)
   */
  public static void write(Spec s, Path out, String modelType) throws IOException {
    boolean qwen2 = modelType.equals("qwen2_vl");
    boolean hub = s.layout() == Layout.HUB;
    if (!qwen2 && !modelType.equals("qwen2_5_vl")) {
      throw new IllegalArgumentException("tiny Qwen checkpoints are qwen2_5_vl or qwen2_vl, not " + modelType);
    }
    TorchRuntime.load();
    Files.createDirectories(out);
    int hd = s.hiddenSize() / s.numHeads();
    int half = hd / 2;
    int t = half / 4; // Qwen's [16, 24, 24] of 64, scaled
    int h = (half - t) / 2;
    int[] section = {t, h, half - t - h};
    Map<String, Object> vision = new LinkedHashMap<>();
    vision.put("depth", s.visionDepth());
    if (qwen2) {
      vision.put("embed_dim", s.visionHidden());
      vision.put("hidden_act", "quick_gelu");
      vision.put("hidden_size", s.hiddenSize());
      vision.put("in_channels", 3);
      vision.put("mlp_ratio", 4);
      vision.put("model_type", "qwen2_vl");
      vision.put("num_heads", s.visionHeads());
    } else {
      vision.put("fullatt_block_indexes", s.fullAttBlocks());
      vision.put("hidden_act", "silu");
      vision.put("hidden_size", s.visionHidden());
      vision.put(hub ? "in_chans" : "in_channels", 3); // the 3B's config.json spells it in_chans
      vision.put("intermediate_size", s.visionIntermediate());
      vision.put("model_type", "qwen2_5_vl");
      vision.put("num_heads", s.visionHeads());
      vision.put("out_hidden_size", s.hiddenSize());
      vision.put("tokens_per_second", 2);
      vision.put("window_size", 112);
    }
    vision.put("patch_size", 14);
    if (hub) {
      vision.put("spatial_patch_size", 14);
    }
    vision.put("spatial_merge_size", 2);
    vision.put("temporal_patch_size", 2);
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("architectures", List.of(qwen2 ? "Qwen2VLForConditionalGeneration" : "Qwen2_5_VLForConditionalGeneration"));
    cfg.put("attention_dropout", 0.0);
    cfg.put("bos_token_id", 151643);
    cfg.put("eos_token_id", 151645);
    cfg.put("hidden_act", "silu");
    cfg.put("hidden_size", s.hiddenSize());
    cfg.put("image_token_id", 151655);
    cfg.put("initializer_range", 0.02);
    cfg.put("intermediate_size", s.intermediateSize());
    cfg.put("max_position_embeddings", 128000);
    cfg.put("max_window_layers", hub ? 70 : s.numLayers()); // the 3B's value; ignored without use_sliding_window
    cfg.put("model_type", modelType);
    cfg.put("num_attention_heads", s.numHeads());
    cfg.put("num_hidden_layers", s.numLayers());
    cfg.put("num_key_value_heads", s.numKvHeads());
    cfg.put("rms_norm_eps", 1e-6);
    cfg.put("rope_scaling", Map.of("type", "mrope", "mrope_section", List.of(section[0], section[1], section[2])));
    cfg.put("rope_theta", 1000000.0);
    cfg.put("sliding_window", 32768);
    cfg.put("tie_word_embeddings", true);
    cfg.put("torch_dtype", hub ? "bfloat16" : "float32");
    cfg.put("transformers_version", "4.50.0");
    cfg.put("use_cache", true);
    cfg.put("use_sliding_window", false);
    cfg.put("video_token_id", 151656);
    cfg.put("vision_config", vision);
    cfg.put("vision_end_token_id", 151653);
    cfg.put("vision_start_token_id", 151652);
    cfg.put("vision_token_id", 151654);
    cfg.put("vocab_size", VOCAB);
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    json.writeValue(out.resolve("config.json").toFile(), cfg);
    Map<String, Object> gen = new LinkedHashMap<>();
    gen.put("bos_token_id", 151643);
    gen.put("eos_token_id", List.of(151645, 151643));
    gen.put("pad_token_id", 151643);
    json.writeValue(out.resolve("generation_config.json").toFile(), gen);
    torch.manual_seed(s.seed());
    if (hub) {
      List<SafeTensorsWriter.Planned> plan = layout(s, qwen2).stream()
          .map(w -> new SafeTensorsWriter.Planned(w.name(), "BF16", w.shape())).toList();
      Map<String, Init> kinds = new HashMap<>();
      layout(s, qwen2).forEach(w -> kinds.put(w.name(), w.init()));
      // made in float32 and rounded, as torch_dtype=bfloat16 weights saved from a float32 init would be
      Checkpoints.saveStreaming(plan, p -> kinds.get(p.name()).make(p.shape()).to(ScalarType.BFloat16), out,
          Checkpoints.SHARD_BYTES);
    } else {
      try (PointerScope scope = new PointerScope()) {
        SafeTensorsWriter.write(out.resolve("model.safetensors"), weights(s, qwen2));
      }
    }
    copyAsset("tokenizer.json.gz", out.resolve("tokenizer.json"), true);
    copyAsset("tokenizer_config.json", out.resolve("tokenizer_config.json"), false);
    copyAsset("LICENSE", out.resolve("LICENSE.tokenizer"), false);
  }

  private static void copyAsset(String name, Path to, boolean gunzip) throws IOException {
    try (InputStream raw = QwenTiny.class.getResourceAsStream("/org/vlmr1/assets/qwen2_5-vl-tokenizer/" + name)) {
      if (raw == null) {
        throw new IOException("the bundled Qwen2.5-VL tokenizer asset " + name + " is missing from the jar");
      }
      try (InputStream in = gunzip ? new GZIPInputStream(raw) : raw) {
        Files.copy(in, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /** HF-style init (Qwen2.5-VL's _init_weights): matrices N(0, 0.02^2), norms 1, biases 0. */
  enum Init {
    NORMAL, ONES, ZEROS;

    Tensor make(long... shape) {
      switch (this) {
        case ONES: return torch.ones(shape);
        case ZEROS: return torch.zeros(shape);
        default: return torch.randn(shape).mul_(new Scalar(0.02)); // in place: the 3B embedding is 1.2 GB in f32
      }
    }
  }

  /** One checkpoint tensor before it exists. */
  record Planned(String name, long[] shape, Init init) {}

  /** Every tensor of the checkpoint in layout order (the order the TINY layout draws them in). */
  static List<Planned> layout(Spec s, boolean qwen2) {
    List<Planned> w = new ArrayList<>();
    long hh = s.hiddenSize();
    long kvDim = (long) s.numKvHeads() * (hh / s.numHeads());
    long vh = s.visionHidden();
    long vi = s.visionIntermediate();
    add(w, "visual.patch_embed.proj.weight", Init.NORMAL, vh, 3, 2, 14, 14);
    for (int l = 0; l < s.visionDepth(); l++) {
      String p = "visual.blocks." + l + ".";
      add(w, p + "norm1.weight", Init.ONES, vh);
      add(w, p + "norm2.weight", Init.ONES, vh);
      add(w, p + "attn.qkv.weight", Init.NORMAL, 3 * vh, vh);
      add(w, p + "attn.qkv.bias", Init.ZEROS, 3 * vh);
      add(w, p + "attn.proj.weight", Init.NORMAL, vh, vh);
      add(w, p + "attn.proj.bias", Init.ZEROS, vh);
      if (qwen2) {
        add(w, p + "norm1.bias", Init.ZEROS, vh);
        add(w, p + "norm2.bias", Init.ZEROS, vh);
        add(w, p + "mlp.fc1.weight", Init.NORMAL, 4 * vh, vh);
        add(w, p + "mlp.fc1.bias", Init.ZEROS, 4 * vh);
        add(w, p + "mlp.fc2.weight", Init.NORMAL, vh, 4 * vh);
        add(w, p + "mlp.fc2.bias", Init.ZEROS, vh);
      } else {
        add(w, p + "mlp.gate_proj.weight", Init.NORMAL, vi, vh);
        add(w, p + "mlp.gate_proj.bias", Init.ZEROS, vi);
        add(w, p + "mlp.up_proj.weight", Init.NORMAL, vi, vh);
        add(w, p + "mlp.up_proj.bias", Init.ZEROS, vi);
        add(w, p + "mlp.down_proj.weight", Init.NORMAL, vh, vi);
        add(w, p + "mlp.down_proj.bias", Init.ZEROS, vh);
      }
    }
    add(w, "visual.merger.ln_q.weight", Init.ONES, vh);
    if (qwen2) {
      add(w, "visual.merger.ln_q.bias", Init.ZEROS, vh);
    }
    add(w, "visual.merger.mlp.0.weight", Init.NORMAL, 4 * vh, 4 * vh);
    add(w, "visual.merger.mlp.0.bias", Init.ZEROS, 4 * vh);
    add(w, "visual.merger.mlp.2.weight", Init.NORMAL, hh, 4 * vh);
    add(w, "visual.merger.mlp.2.bias", Init.ZEROS, hh);
    add(w, "model.embed_tokens.weight", Init.NORMAL, VOCAB, hh);
    for (int l = 0; l < s.numLayers(); l++) {
      String p = "model.layers." + l + ".";
      add(w, p + "input_layernorm.weight", Init.ONES, hh);
      add(w, p + "post_attention_layernorm.weight", Init.ONES, hh);
      add(w, p + "self_attn.q_proj.weight", Init.NORMAL, hh, hh);
      add(w, p + "self_attn.q_proj.bias", Init.ZEROS, hh);
      add(w, p + "self_attn.k_proj.weight", Init.NORMAL, kvDim, hh);
      add(w, p + "self_attn.k_proj.bias", Init.ZEROS, kvDim);
      add(w, p + "self_attn.v_proj.weight", Init.NORMAL, kvDim, hh);
      add(w, p + "self_attn.v_proj.bias", Init.ZEROS, kvDim);
      add(w, p + "self_attn.o_proj.weight", Init.NORMAL, hh, hh);
      add(w, p + "mlp.gate_proj.weight", Init.NORMAL, s.intermediateSize(), hh);
      add(w, p + "mlp.up_proj.weight", Init.NORMAL, s.intermediateSize(), hh);
      add(w, p + "mlp.down_proj.weight", Init.NORMAL, hh, s.intermediateSize());
    }
    add(w, "model.norm.weight", Init.ONES, hh);
    return w;
  }

  private static void add(List<Planned> w, String name, Init init, long... shape) {
    w.add(new Planned(name, shape, init));
  }

  /** The TINY layout's tensors, drawn in layout order. */
  static Map<String, Tensor> weights(Spec s, boolean qwen2) {
    Map<String, Tensor> w = new LinkedHashMap<>();
    for (Planned p : layout(s, qwen2)) {
      w.put(p.name(), p.init().make(p.shape()));
    }
    return w;
  }
}
