// init-tiny --like qwen2_5_vl_3b: the planned tensors against a literal list from the 3B's published shapes, the
// config.json fields transformers 4.49's Qwen2_5_VLConfig reads, and (slow) a written 2-layer 3B-wide checkpoint that
// loads and runs a forward.
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.DecoderVlModel;
import org.vlmr1.model.SafeTensorsFile;

class Qwen3bShapeTest {
  /** Qwen2.5-VL-3B-Instruct's globals and one block of each tower, shapes as its safetensors index lists them. */
  static final Map<String, long[]> EXPECTED = expected();

  private static Map<String, long[]> expected() {
    Map<String, long[]> m = new LinkedHashMap<>();
    m.put("visual.patch_embed.proj.weight", new long[] {1280, 3, 2, 14, 14});
    m.put("visual.blocks.0.norm1.weight", new long[] {1280});
    m.put("visual.blocks.0.norm2.weight", new long[] {1280});
    m.put("visual.blocks.0.attn.qkv.weight", new long[] {3840, 1280});
    m.put("visual.blocks.0.attn.qkv.bias", new long[] {3840});
    m.put("visual.blocks.0.attn.proj.weight", new long[] {1280, 1280});
    m.put("visual.blocks.0.attn.proj.bias", new long[] {1280});
    m.put("visual.blocks.0.mlp.gate_proj.weight", new long[] {3420, 1280});
    m.put("visual.blocks.0.mlp.gate_proj.bias", new long[] {3420});
    m.put("visual.blocks.0.mlp.up_proj.weight", new long[] {3420, 1280});
    m.put("visual.blocks.0.mlp.up_proj.bias", new long[] {3420});
    m.put("visual.blocks.0.mlp.down_proj.weight", new long[] {1280, 3420});
    m.put("visual.blocks.0.mlp.down_proj.bias", new long[] {1280});
    m.put("visual.merger.ln_q.weight", new long[] {1280});
    m.put("visual.merger.mlp.0.weight", new long[] {5120, 5120});
    m.put("visual.merger.mlp.0.bias", new long[] {5120});
    m.put("visual.merger.mlp.2.weight", new long[] {2048, 5120});
    m.put("visual.merger.mlp.2.bias", new long[] {2048});
    m.put("model.embed_tokens.weight", new long[] {151936, 2048});
    m.put("model.layers.0.input_layernorm.weight", new long[] {2048});
    m.put("model.layers.0.post_attention_layernorm.weight", new long[] {2048});
    m.put("model.layers.0.self_attn.q_proj.weight", new long[] {2048, 2048});
    m.put("model.layers.0.self_attn.q_proj.bias", new long[] {2048});
    m.put("model.layers.0.self_attn.k_proj.weight", new long[] {256, 2048});
    m.put("model.layers.0.self_attn.k_proj.bias", new long[] {256});
    m.put("model.layers.0.self_attn.v_proj.weight", new long[] {256, 2048});
    m.put("model.layers.0.self_attn.v_proj.bias", new long[] {256});
    m.put("model.layers.0.self_attn.o_proj.weight", new long[] {2048, 2048});
    m.put("model.layers.0.mlp.gate_proj.weight", new long[] {11008, 2048});
    m.put("model.layers.0.mlp.up_proj.weight", new long[] {11008, 2048});
    m.put("model.layers.0.mlp.down_proj.weight", new long[] {2048, 11008});
    m.put("model.norm.weight", new long[] {2048});
    return m;
  }

  @Test
  void fullSizePlanMatchesThePublishedShapesAndParameterCounts() {
    List<QwenTiny.Planned> plan = QwenTiny.layout(QwenTiny.Spec.qwen25Vl3b(36, 32, 0), false);
    Map<String, long[]> byName = new LinkedHashMap<>();
    plan.forEach(p -> byName.put(p.name(), p.shape()));
    EXPECTED.forEach((n, s) -> assertTrue(byName.containsKey(n) && Arrays.equals(s, byName.get(n)),
        n + ": expected " + Arrays.toString(s) + ", planned " + Arrays.toString(byName.get(n))));
    // 8 globals (patch embed, 5 merger, embedding, final norm) + 12 per vision block + 12 per layer; no lm_head (tied)
    assertEquals(8 + 12 * 32 + 12 * 36, plan.size());
    // docs/ARCHITECTURES.md A1's cross-checked counts
    assertEquals(1_505_280L, count(plan, "visual.patch_embed."));
    assertEquals(19_702_200L, count(plan, "visual.blocks.0."));
    assertEquals(36_707_328L, count(plan, "visual.merger.mlp.")); // the doc counts the MLP; ln_q adds 1280
    assertEquals(77_076_992L, count(plan, "model.layers.0."));
    long total = count(plan, "");
    assertEquals(3_754_622_976L, total, "Qwen2.5-VL-3B-Instruct's 3.75 B parameters (tied head)");
  }

  private static long count(List<QwenTiny.Planned> plan, String prefix) {
    return plan.stream().filter(p -> p.name().startsWith(prefix)).mapToLong(p -> Arrays.stream(p.shape())
        .reduce(1, (a, b) -> a * b)).sum();
  }

  /** The written 3B-wide, 2-layer, 1-vision-block checkpoint: config, shards, load, forward (~0.9 GB on disk). */
  @Test
  @Tag("slow")
  void twoLayerThreeBWideCheckpointLoadsAndRuns(@TempDir Path dir) throws Exception {
    TorchRuntime.load();
    long seed = new Random().nextLong();
    System.out.println("Qwen3bShapeTest seed " + seed);
    Path out = dir.resolve("q3b");
    QwenTiny.write(QwenTiny.Spec.qwen25Vl3b(2, 1, seed), out, "qwen2_5_vl");
    JsonNode c = new ObjectMapper().readTree(out.resolve("config.json").toFile());
    assertEquals(2048, c.get("hidden_size").asInt());
    assertEquals(11008, c.get("intermediate_size").asInt());
    assertEquals(16, c.get("num_attention_heads").asInt());
    assertEquals(2, c.get("num_key_value_heads").asInt());
    assertEquals(151936, c.get("vocab_size").asInt());
    assertEquals(128000, c.get("max_position_embeddings").asInt());
    assertEquals(1e6, c.get("rope_theta").asDouble());
    assertEquals("[16,24,24]", c.get("rope_scaling").get("mrope_section").toString());
    assertEquals("bfloat16", c.get("torch_dtype").asText());
    assertTrue(c.get("tie_word_embeddings").asBoolean());
    JsonNode v = c.get("vision_config");
    assertEquals("[]", v.get("fullatt_block_indexes").toString(), "7/15/23/31 do not exist in one block");
    assertEquals(1280, v.get("hidden_size").asInt());
    assertEquals(3420, v.get("intermediate_size").asInt());
    assertEquals(16, v.get("num_heads").asInt());
    assertEquals(2048, v.get("out_hidden_size").asInt());
    assertEquals(112, v.get("window_size").asInt());
    assertEquals(14, v.get("patch_size").asInt());
    assertEquals(2, v.get("spatial_merge_size").asInt());
    assertEquals(2, v.get("temporal_patch_size").asInt());
    SafeTensorsFile st = SafeTensorsFile.open(out.resolve("model.safetensors")); // < 5 GB: one file
    EXPECTED.forEach((n, s) -> {
      assertTrue(st.entries().containsKey(n), n + " missing");
      assertEquals(Arrays.toString(s), Arrays.toString(st.entry(n).shape()), n);
      assertEquals("BF16", st.entry(n).dtype(), n);
    });
    assertEquals(8 + 12 + 12 * 2, st.entries().size());
    QwenVlModel m = QwenVlModel.load(out);
    try (PointerScope scope = new PointerScope()) {
      Tensor ids = torch.randint(0, 151_000, new long[] {1, 6});                          // (B, T)
      Tensor mask = torch.ones(new long[] {1, 6}).to(ScalarType.Long);
      DecoderVlModel.Output o = m.forward(ids, mask, Map.of(), true);
      assertEquals("[1, 6, 151936]", Arrays.toString(TensorChecks.shape(o.logits())));
      assertTrue(o.logits().isfinite().all().item_bool(), "logits finite");
    }
    assertTrue(Files.size(out.resolve("model.safetensors")) > 900_000_000L);
  }
}
