// Tiny random InternVL checkpoints (bin/vlmr1 init-tiny --family internvl_chat) for tests and demos: the
// InternVLChatModel layout (vision_model.*, mlp1.*, language_model.*), a Qwen2 LLM with InternVL2.5-1B's vocabulary
// (151,674 rows), the internvl2_5 template, and the Qwen2.5 tokenizer plus InternVL's added tokens (CONVENTIONS.md).
package org.vlmr1.module.internvl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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

/** Writes tiny random InternVL checkpoints. */
public final class InternVlTiny {
  /** InternVL's added tokens after the Qwen2.5 vocabulary, from id 151665 on (ARCHITECTURES.md B1). */
  static final List<String> ADDED = List.of("<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>",
      "</ref>", "<box>", "</box>");
  static final long FIRST_ADDED = 151_665;
  static final long VOCAB = 151_674;

  private InternVlTiny() {}

  /**
   * Sizes of a tiny model; validated at construction.
   *
   * @param imageSize tile side in pixels (a multiple of 28, so the 0.5 pixel shuffle divides the patch grid)
   * @param maxDynamicPatch most tiles per image recorded in config.json
   */
  public record Spec(int hiddenSize, int numLayers, int numHeads, int numKvHeads, int intermediateSize,
      int visionDepth, int visionHidden, int visionHeads, int imageSize, int maxDynamicPatch, long seed) {
    public Spec {
      if (hiddenSize % numHeads != 0 || numHeads % numKvHeads != 0 || (hiddenSize / numHeads) % 2 != 0) {
        throw new IllegalArgumentException("hidden_size " + hiddenSize + " must split into " + numHeads
            + " heads of an even size, and heads into " + numKvHeads + " KV heads");
      }
      if (visionHidden % visionHeads != 0 || numLayers < 1 || visionDepth < 1) {
        throw new IllegalArgumentException("vision hidden " + visionHidden + " must split into " + visionHeads
            + " heads; layers and vision depth >= 1");
      }
      if (imageSize < 28 || imageSize % 28 != 0 || maxDynamicPatch < 1) {
        throw new IllegalArgumentException("image size " + imageSize + " must be a multiple of 28; max tiles >= 1");
      }
    }

    public static Spec defaults() {
      return new Spec(64, 2, 4, 2, 128, 2, 32, 2, 56, 6, 0);
    }
  }

  /** Writes the InternVL2.5-1B-shaped variant: LayerNorm InternViT with q/k/v biases, a Qwen2 LLM. */
  public static void write(Spec s, Path out) throws IOException {
    write(s, out, InternVlConfig.NormType.LAYER_NORM, InternVlConfig.LlmArch.QWEN2);
  }

  /**
   * Writes config.json, generation_config.json, model.safetensors and the tokenizer files into {@code out}.
   *
   * @param norm RMS_NORM gives the InternViT-6B shape: RMSNorm, QK-norm, no q/k/v bias
   * @param llm INTERNLM2 stores the language model in InternLM2's layout (packed wqkv, no biases)
   */
  public static void write(Spec s, Path out, InternVlConfig.NormType norm, InternVlConfig.LlmArch llm)
      throws IOException {
    boolean rms = norm == InternVlConfig.NormType.RMS_NORM;
    boolean lm2 = llm == InternVlConfig.LlmArch.INTERNLM2;
    TorchRuntime.load();
    Files.createDirectories(out);
    Map<String, Object> vision = new LinkedHashMap<>();
    vision.put("architectures", List.of("InternVisionModel"));
    vision.put("attention_dropout", 0.0);
    vision.put("drop_path_rate", 0.0);
    vision.put("dropout", 0.0);
    vision.put("hidden_act", "gelu");
    vision.put("hidden_size", s.visionHidden());
    vision.put("image_size", s.imageSize());
    vision.put("initializer_factor", 0.1);
    vision.put("initializer_range", 0.02);
    vision.put("intermediate_size", s.visionHidden() * 4);
    vision.put("layer_norm_eps", 1e-6);
    vision.put("model_type", "intern_vit_6b");
    vision.put("norm_type", rms ? "rms_norm" : "layer_norm");
    vision.put("num_attention_heads", s.visionHeads());
    vision.put("num_channels", 3);
    vision.put("num_hidden_layers", s.visionDepth());
    vision.put("patch_size", 14);
    vision.put("qk_normalization", rms);
    vision.put("qkv_bias", !rms);
    vision.put("use_flash_attn", false);
    Map<String, Object> lm = new LinkedHashMap<>();
    lm.put("architectures", List.of(lm2 ? "InternLM2ForCausalLM" : "Qwen2ForCausalLM"));
    if (lm2) {
      lm.put("bias", false);
    }
    lm.put("bos_token_id", 151643);
    lm.put("eos_token_id", 151645);
    lm.put("hidden_act", "silu");
    lm.put("hidden_size", s.hiddenSize());
    lm.put("intermediate_size", s.intermediateSize());
    lm.put("max_position_embeddings", 32768);
    lm.put("model_type", lm2 ? "internlm2" : "qwen2");
    lm.put("num_attention_heads", s.numHeads());
    lm.put("num_hidden_layers", s.numLayers());
    lm.put("num_key_value_heads", s.numKvHeads());
    lm.put("rms_norm_eps", 1e-6);
    lm.put("rope_scaling", null);
    lm.put("rope_theta", 1000000.0);
    lm.put("tie_word_embeddings", false);
    lm.put("torch_dtype", "float32");
    lm.put("vocab_size", VOCAB);
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("architectures", List.of("InternVLChatModel"));
    cfg.put("downsample_ratio", 0.5);
    cfg.put("dynamic_image_size", true);
    cfg.put("force_image_size", s.imageSize());
    cfg.put("hidden_size", s.hiddenSize());
    cfg.put("llm_config", lm);
    cfg.put("max_dynamic_patch", s.maxDynamicPatch());
    cfg.put("min_dynamic_patch", 1);
    cfg.put("model_type", "internvl_chat");
    cfg.put("ps_version", "v2");
    cfg.put("select_layer", -1);
    cfg.put("template", "internvl2_5");
    cfg.put("tie_word_embeddings", false);
    cfg.put("torch_dtype", "float32");
    cfg.put("use_thumbnail", true);
    cfg.put("vision_config", vision);
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    json.writeValue(out.resolve("config.json").toFile(), cfg);
    Map<String, Object> gen = new LinkedHashMap<>();
    gen.put("eos_token_id", List.of(151645, 151643));
    gen.put("pad_token_id", 151643);
    json.writeValue(out.resolve("generation_config.json").toFile(), gen);
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(s.seed());
      Map<String, Tensor> w = weights(s, rms, lm2);
      if (lm2) {
        w = InternLm2Keys.pack(w, InternVlConfig.read(out).llm());
      }
      SafeTensorsWriter.write(out.resolve("model.safetensors"), w);
    }
    writeTokenizer(out);
  }

  /** The bundled Qwen2.5-VL tokenizer.json with InternVL's added tokens appended (special, matched whole). */
  static void writeTokenizer(Path out) throws IOException {
    ObjectMapper json = new ObjectMapper();
    JsonNode tok;
    try (InputStream raw = asset("tokenizer.json.gz"); InputStream in = new GZIPInputStream(raw)) {
      tok = json.readTree(in);
    }
    ArrayNode added = (ArrayNode) tok.path("added_tokens");
    for (int i = 0; i < ADDED.size(); i++) {
      ObjectNode t = added.addObject();
      t.put("id", FIRST_ADDED + i);
      t.put("content", ADDED.get(i));
      t.put("single_word", false);
      t.put("lstrip", false);
      t.put("rstrip", false);
      t.put("normalized", false);
      t.put("special", true);
    }
    json.writeValue(out.resolve("tokenizer.json").toFile(), tok);
    ObjectNode tc;
    try (InputStream in = asset("tokenizer_config.json")) {
      tc = (ObjectNode) json.readTree(in);
    }
    ObjectNode dec = tc.with("added_tokens_decoder");
    for (int i = 0; i < ADDED.size(); i++) {
      ObjectNode t = dec.putObject(String.valueOf(FIRST_ADDED + i));
      t.put("content", ADDED.get(i));
      t.put("lstrip", false);
      t.put("normalized", false);
      t.put("rstrip", false);
      t.put("single_word", false);
      t.put("special", true);
    }
    tc.remove("chat_template"); // Qwen2.5-VL's; InternVL prompts come from the conversation template
    json.enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.resolve("tokenizer_config.json").toFile(), tc);
    try (InputStream in = asset("LICENSE")) {
      Files.copy(in, out.resolve("LICENSE.tokenizer"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static InputStream asset(String name) throws IOException {
    InputStream in = InternVlTiny.class.getResourceAsStream("/org/vlmr1/assets/qwen2_5-vl-tokenizer/" + name);
    if (in == null) {
      throw new IOException("the bundled Qwen2.5-VL tokenizer asset " + name + " is missing from the jar");
    }
    return in;
  }

  /**
   * Random init: matrices N(0, 0.02^2), norms 1, biases 0, layer scales 0.1 (initializer_factor). With {@code rms}
   * the vision norms have no bias, q/k/v none either, and QK-norm weights appear; with {@code noLlmBias} the language
   * model's q/k/v have no biases (InternLM2).
   */
  static Map<String, Tensor> weights(Spec s, boolean rms, boolean noLlmBias) {
    Map<String, Tensor> w = new LinkedHashMap<>();
    long vh = s.visionHidden();
    long grid = s.imageSize() / 14;
    String v = "vision_model.";
    w.put(v + "embeddings.class_embedding", normal(1, 1, vh));
    w.put(v + "embeddings.patch_embedding.weight", normal(vh, 3, 14, 14));
    w.put(v + "embeddings.patch_embedding.bias", torch.zeros(vh));
    w.put(v + "embeddings.position_embedding", normal(1, 1 + grid * grid, vh));
    for (int l = 0; l < s.visionDepth(); l++) {
      String p = v + "encoder.layers." + l + ".";
      w.put(p + "attn.qkv.weight", normal(3 * vh, vh));
      if (rms) {
        w.put(p + "attn.q_norm.weight", torch.ones(vh));
        w.put(p + "attn.k_norm.weight", torch.ones(vh));
      } else {
        w.put(p + "attn.qkv.bias", torch.zeros(3 * vh));
      }
      w.put(p + "attn.proj.weight", normal(vh, vh));
      w.put(p + "attn.proj.bias", torch.zeros(vh));
      w.put(p + "mlp.fc1.weight", normal(4 * vh, vh));
      w.put(p + "mlp.fc1.bias", torch.zeros(4 * vh));
      w.put(p + "mlp.fc2.weight", normal(vh, 4 * vh));
      w.put(p + "mlp.fc2.bias", torch.zeros(vh));
      w.put(p + "norm1.weight", torch.ones(vh));
      w.put(p + "norm2.weight", torch.ones(vh));
      if (!rms) {
        w.put(p + "norm1.bias", torch.zeros(vh));
        w.put(p + "norm2.bias", torch.zeros(vh));
      }
      w.put(p + "ls1", torch.full(new long[] {vh}, new Scalar(0.1)));
      w.put(p + "ls2", torch.full(new long[] {vh}, new Scalar(0.1)));
    }
    long h = s.hiddenSize();
    long merged = vh * 4;
    w.put("mlp1.0.weight", torch.ones(merged));
    w.put("mlp1.0.bias", torch.zeros(merged));
    w.put("mlp1.1.weight", normal(h, merged));
    w.put("mlp1.1.bias", torch.zeros(h));
    w.put("mlp1.3.weight", normal(h, h));
    w.put("mlp1.3.bias", torch.zeros(h));
    long kvDim = (long) s.numKvHeads() * (h / s.numHeads());
    String m = "language_model.model.";
    w.put(m + "embed_tokens.weight", normal(VOCAB, h));
    for (int l = 0; l < s.numLayers(); l++) {
      String p = m + "layers." + l + ".";
      w.put(p + "input_layernorm.weight", torch.ones(h));
      w.put(p + "post_attention_layernorm.weight", torch.ones(h));
      w.put(p + "self_attn.q_proj.weight", normal(h, h));
      w.put(p + "self_attn.k_proj.weight", normal(kvDim, h));
      w.put(p + "self_attn.v_proj.weight", normal(kvDim, h));
      if (!noLlmBias) {
        w.put(p + "self_attn.q_proj.bias", torch.zeros(h));
        w.put(p + "self_attn.k_proj.bias", torch.zeros(kvDim));
        w.put(p + "self_attn.v_proj.bias", torch.zeros(kvDim));
      }
      w.put(p + "self_attn.o_proj.weight", normal(h, h));
      w.put(p + "mlp.gate_proj.weight", normal(s.intermediateSize(), h));
      w.put(p + "mlp.up_proj.weight", normal(s.intermediateSize(), h));
      w.put(p + "mlp.down_proj.weight", normal(h, s.intermediateSize()));
    }
    w.put(m + "norm.weight", torch.ones(h));
    w.put("language_model.lm_head.weight", normal(VOCAB, h));
    return w;
  }

  private static Tensor normal(long... shape) {
    return torch.randn(shape).mul(new Scalar(0.02));
  }
}
