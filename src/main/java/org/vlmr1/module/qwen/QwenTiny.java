// Tiny random Qwen2.5-VL checkpoints for tests and the demo (bin/vlmr1 init-tiny): the real vocabulary (151,936
// rows) and special ids, a small decoder and vision tower, Hugging Face layout with the Qwen2.5-VL tokenizer files.
package org.vlmr1.module.qwen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.SafeTensorsWriter;

/** Writes tiny random Qwen2.5-VL checkpoints. */
public final class QwenTiny {
  private QwenTiny() {}

  /** Sizes of a tiny model; validated at construction. */
  public record Spec(int hiddenSize, int numLayers, int numHeads, int numKvHeads, int intermediateSize,
      int visionDepth, int visionHidden, int visionHeads, long seed) {
    public Spec {
      if (hiddenSize % numHeads != 0 || numHeads % numKvHeads != 0 || (hiddenSize / numHeads) % 8 != 0) {
        throw new IllegalArgumentException("hidden_size " + hiddenSize + " must split into " + numHeads
            + " heads of a multiple of 8 dims, and heads into " + numKvHeads + " KV heads");
      }
      if (visionHidden % visionHeads != 0 || (visionHidden / visionHeads) % 4 != 0 || numLayers < 1
          || visionDepth < 1) {
        throw new IllegalArgumentException("vision hidden " + visionHidden + " must split into " + visionHeads
            + " heads of a multiple of 4 dims; layers and vision depth >= 1");
      }
    }

    public static Spec defaults() {
      return new Spec(64, 2, 4, 2, 128, 2, 32, 2, 0);
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
      vision.put("fullatt_block_indexes", List.of(s.visionDepth() - 1));
      vision.put("hidden_act", "silu");
      vision.put("hidden_size", s.visionHidden());
      vision.put("in_channels", 3);
      vision.put("intermediate_size", s.visionHidden() * 2);
      vision.put("model_type", "qwen2_5_vl");
      vision.put("num_heads", s.visionHeads());
      vision.put("out_hidden_size", s.hiddenSize());
      vision.put("tokens_per_second", 2);
      vision.put("window_size", 112);
    }
    vision.put("patch_size", 14);
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
    cfg.put("max_window_layers", s.numLayers());
    cfg.put("model_type", modelType);
    cfg.put("num_attention_heads", s.numHeads());
    cfg.put("num_hidden_layers", s.numLayers());
    cfg.put("num_key_value_heads", s.numKvHeads());
    cfg.put("rms_norm_eps", 1e-6);
    cfg.put("rope_scaling", Map.of("type", "mrope", "mrope_section", List.of(section[0], section[1], section[2])));
    cfg.put("rope_theta", 1000000.0);
    cfg.put("sliding_window", 32768);
    cfg.put("tie_word_embeddings", true);
    cfg.put("torch_dtype", "float32");
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
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(s.seed());
      SafeTensorsWriter.write(out.resolve("model.safetensors"), weights(s, qwen2));
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

  /** HF-style init: matrices N(0, 0.02^2), norms 1, biases 0 (Qwen2.5-VL's _init_weights). */
  static Map<String, Tensor> weights(Spec s, boolean qwen2) {
    Map<String, Tensor> w = new LinkedHashMap<>();
    long hh = s.hiddenSize();
    long kvDim = (long) s.numKvHeads() * (hh / s.numHeads());
    long vh = s.visionHidden();
    w.put("visual.patch_embed.proj.weight", normal(vh, 3, 2, 14, 14));
    for (int l = 0; l < s.visionDepth(); l++) {
      String p = "visual.blocks." + l + ".";
      w.put(p + "norm1.weight", torch.ones(vh));
      w.put(p + "norm2.weight", torch.ones(vh));
      w.put(p + "attn.qkv.weight", normal(3 * vh, vh));
      w.put(p + "attn.qkv.bias", torch.zeros(3 * vh));
      w.put(p + "attn.proj.weight", normal(vh, vh));
      w.put(p + "attn.proj.bias", torch.zeros(vh));
      if (qwen2) {
        w.put(p + "norm1.bias", torch.zeros(vh));
        w.put(p + "norm2.bias", torch.zeros(vh));
        w.put(p + "mlp.fc1.weight", normal(4 * vh, vh));
        w.put(p + "mlp.fc1.bias", torch.zeros(4 * vh));
        w.put(p + "mlp.fc2.weight", normal(vh, 4 * vh));
        w.put(p + "mlp.fc2.bias", torch.zeros(vh));
      } else {
        w.put(p + "mlp.gate_proj.weight", normal(2 * vh, vh));
        w.put(p + "mlp.gate_proj.bias", torch.zeros(2 * vh));
        w.put(p + "mlp.up_proj.weight", normal(2 * vh, vh));
        w.put(p + "mlp.up_proj.bias", torch.zeros(2 * vh));
        w.put(p + "mlp.down_proj.weight", normal(vh, 2 * vh));
        w.put(p + "mlp.down_proj.bias", torch.zeros(vh));
      }
    }
    w.put("visual.merger.ln_q.weight", torch.ones(vh));
    if (qwen2) {
      w.put("visual.merger.ln_q.bias", torch.zeros(vh));
    }
    w.put("visual.merger.mlp.0.weight", normal(4 * vh, 4 * vh));
    w.put("visual.merger.mlp.0.bias", torch.zeros(4 * vh));
    w.put("visual.merger.mlp.2.weight", normal(hh, 4 * vh));
    w.put("visual.merger.mlp.2.bias", torch.zeros(hh));
    w.put("model.embed_tokens.weight", normal(VOCAB, hh));
    for (int l = 0; l < s.numLayers(); l++) {
      String p = "model.layers." + l + ".";
      w.put(p + "input_layernorm.weight", torch.ones(hh));
      w.put(p + "post_attention_layernorm.weight", torch.ones(hh));
      w.put(p + "self_attn.q_proj.weight", normal(hh, hh));
      w.put(p + "self_attn.q_proj.bias", torch.zeros(hh));
      w.put(p + "self_attn.k_proj.weight", normal(kvDim, hh));
      w.put(p + "self_attn.k_proj.bias", torch.zeros(kvDim));
      w.put(p + "self_attn.v_proj.weight", normal(kvDim, hh));
      w.put(p + "self_attn.v_proj.bias", torch.zeros(kvDim));
      w.put(p + "self_attn.o_proj.weight", normal(hh, hh));
      w.put(p + "mlp.gate_proj.weight", normal(s.intermediateSize(), hh));
      w.put(p + "mlp.up_proj.weight", normal(s.intermediateSize(), hh));
      w.put(p + "mlp.down_proj.weight", normal(hh, s.intermediateSize()));
    }
    w.put("model.norm.weight", torch.ones(hh));
    return w;
  }

  private static Tensor normal(long... shape) {
    return torch.randn(shape).mul(new Scalar(0.02));
  }
}
