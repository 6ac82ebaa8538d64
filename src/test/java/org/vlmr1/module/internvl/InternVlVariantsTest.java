// InternVL variants without a golden case: an InternLM2 language model (packed wqkv) equals the same weights in the
// Qwen2 layout and saves back in its own layout; the InternViT-6B shape (RMSNorm, QK-norm, no q/k/v bias) matches a
// naive re-implementation of one block; a tile size other than the stored position grid resizes the positions with
// rows and columns in place.
package org.vlmr1.module.internvl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.Layers;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.model.PassInputs;

class InternVlVariantsTest {
  static final InternVlTiny.Spec SPEC = new InternVlTiny.Spec(32, 2, 4, 2, 64, 2, 32, 2, 56, 4, 11);

  @Test
  void internLm2LayoutEqualsTheQwen2Layout(@TempDir Path dir) throws Exception {
    Path qwen = dir.resolve("qwen2");
    Path lm2 = dir.resolve("internlm2");
    InternVlTiny.write(SPEC, qwen);
    InternVlTiny.write(SPEC, lm2, InternVlConfig.NormType.LAYER_NORM, InternVlConfig.LlmArch.INTERNLM2);
    assertTrue(SafeTensorsFile.open(lm2.resolve("model.safetensors")).entries()
        .containsKey("language_model.model.layers.0.attention.wqkv.weight"));
    try (InternVlModel a = InternVlModel.load(qwen); InternVlModel b = InternVlModel.load(lm2);
        PointerScope s = new PointerScope()) {
      Tensor ids = torch.tensor(new long[] {151644, 872, 198, 9707, 11, 1879, 151645}).reshape(1, 7);
      Tensor la = a.forward(ids, null, PassInputs.of("pixel_values", null, "image_flags", null), true).logits();
      Tensor lb = b.forward(ids, null, PassInputs.of("pixel_values", null, "image_flags", null), true).logits();
      assertEquals(0.0, la.sub(lb).abs().max().item_double(), 0.0, "the zero q/k/v biases change nothing");
      b.save(dir.resolve("saved"));
      SafeTensorsFile orig = SafeTensorsFile.open(lm2.resolve("model.safetensors"));
      SafeTensorsFile saved = SafeTensorsFile.open(dir.resolve("saved/model.safetensors"));
      assertEquals(orig.entries().keySet(), saved.entries().keySet(), "saved in InternLM2's own key layout");
      for (String k : orig.entries().keySet()) {
        assertTrue(java.util.Arrays.equals(orig.floats(k), saved.floats(k)), k + " round-trips bit for bit");
      }
    }
  }

  @Test
  void rmsNormQkNormTowerMatchesANaiveBlock(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("vit6b");
    InternVlTiny.write(SPEC, ckpt, InternVlConfig.NormType.RMS_NORM, InternVlConfig.LlmArch.QWEN2);
    long seed = System.nanoTime();
    System.out.println("seed " + seed);
    try (InternVlModel m = InternVlModel.load(ckpt); PointerScope s = new PointerScope()) {
      InternVlConfig cfg = m.config();
      assertEquals(InternVlConfig.NormType.RMS_NORM, cfg.vision().normType());
      assertTrue(cfg.vision().qkNormalization());
      // Perturb the norm and QK-norm weights so they matter, then compare block 0 with a naive composition.
      torch.manual_seed(seed);
      java.util.Map<String, Tensor> w = m.namedParameters();
      String p = "vision_model.encoder.layers.0.";
      for (String k : new String[] {"norm1.weight", "norm2.weight", "attn.q_norm.weight", "attn.k_norm.weight"}) {
        w.get(p + k).copy_(torch.rand(w.get(p + k).size(0)).add(new Scalar(0.5)));
      }
      Tensor pv = torch.randn(2, 3, 56, 56);
      // Tower with select_layer reaching block 0 only: compare embeddings -> block 0 by hand.
      Tensor x = embeddingsByConv(w, pv);
      double eps = cfg.vision().layerNormEps();
      long n = x.size(0);
      long l = x.size(1);
      long c = cfg.vision().hiddenSize();
      int heads = cfg.vision().numHeads();
      long hd = c / heads;
      Tensor h = Layers.rmsNorm(x, w.get(p + "norm1.weight"), eps);
      Tensor qkv = torch.linear(h, w.get(p + "attn.qkv.weight")).reshape(n, l, 3, heads, hd).permute(2, 0, 3, 1, 4);
      Tensor q = Layers.rmsNorm(qkv.select(0, 0).transpose(1, 2).flatten(-2, -1), w.get(p + "attn.q_norm.weight"), eps)
          .reshape(n, l, heads, hd).transpose(1, 2);
      Tensor k = Layers.rmsNorm(qkv.select(0, 1).transpose(1, 2).flatten(-2, -1), w.get(p + "attn.k_norm.weight"), eps)
          .reshape(n, l, heads, hd).transpose(1, 2);
      Tensor attn = q.mul(new Scalar(1.0 / Math.sqrt(hd))).matmul(k.transpose(-2, -1)).softmax(-1);
      Tensor o = attn.matmul(qkv.select(0, 2)).transpose(1, 2).reshape(n, l, c);
      o = torch.linear(o, w.get(p + "attn.proj.weight"), new TensorOptional(w.get(p + "attn.proj.bias")));
      x = x.add(o.mul(w.get(p + "ls1")));
      h = Layers.rmsNorm(x, w.get(p + "norm2.weight"), eps);
      h = torch.linear(torch.gelu(torch.linear(h, w.get(p + "mlp.fc1.weight"),
          new TensorOptional(w.get(p + "mlp.fc1.bias")))), w.get(p + "mlp.fc2.weight"),
          new TensorOptional(w.get(p + "mlp.fc2.bias")));
      Tensor want = x.add(h.mul(w.get(p + "ls2")));
      Tensor got = new InternVision(withSelectLayer(cfg, 1), m.weightsForTests()).tower(pv);
      double d = want.sub(got).abs().max().item_double();
      System.out.printf("RMSNorm + QK-norm block max |diff| %.3g%n", d);
      assertTrue(d < 1e-5, "block 0 differs by " + d);
    }
  }

  /** The patch embedding as the reference runs it: a stride-14 Conv2d, class token, positions. */
  static Tensor embeddingsByConv(java.util.Map<String, Tensor> w, Tensor pv) {
    String e = "vision_model.embeddings.";
    Tensor conv = torch.conv2d(pv, w.get(e + "patch_embedding.weight"), new TensorOptional(w.get(e
        + "patch_embedding.bias")), new long[] {14, 14}, new long[] {0, 0}, new long[] {1, 1}, 1);
    Tensor patches = conv.flatten(2, -1).transpose(1, 2);
    Tensor cls = w.get(e + "class_embedding").expand(pv.size(0), 1, patches.size(2));
    return torch.cat(new org.bytedeco.pytorch.TensorVector(cls, patches), 1).add(w.get(e + "position_embedding"));
  }

  static InternVlConfig withSelectLayer(InternVlConfig c, int layer) {
    return new InternVlConfig(c.imageSize(), c.downsampleRatio(), layer, c.template(), c.psVersion(),
        c.useThumbnail(), c.minDynamicPatch(), c.maxDynamicPatch(), c.vision(), c.llmArch(), c.llm(), c.eosTokenId(),
        c.bosTokenId(), c.padTokenId(), c.imgContextTokenId());
  }

  @Test
  void largerTilesResizeThePositionGridRowsAndColumnsInPlace(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    InternVlTiny.write(SPEC, ckpt);
    // Tiles of 84 px (6x6 patches) on a tower whose positions were stored for 56 px (4x4).
    ObjectMapper json = new ObjectMapper();
    ObjectNode cfg = (ObjectNode) json.readTree(ckpt.resolve("config.json").toFile());
    cfg.put("force_image_size", 84);
    json.writeValue(ckpt.resolve("config.json").toFile(), cfg);
    try (InternVlModel m = InternVlModel.load(ckpt); PointerScope s = new PointerScope()) {
      assertEquals(9, m.config().numImageToken());
      Tensor pos = m.namedParameters().get("vision_model.embeddings.position_embedding");   // (1, 17, C)
      long c = pos.size(2);
      // Channel 0 holds the patch row, channel 1 the column, everything else 0; the class position 0.
      float[] v = new float[(int) pos.numel()];
      for (int r = 0; r < 4; r++) {
        for (int col = 0; col < 4; col++) {
          v[(int) ((1 + r * 4 + col) * c)] = r;
          v[(int) ((1 + r * 4 + col) * c + 1)] = col;
        }
      }
      pos.copy_(torch.tensor(v).reshape(1, 17, c));
      // Zero the patch embedding so the tower's input shows the positions alone; keep only the embeddings (layer 0).
      m.namedParameters().get("vision_model.embeddings.patch_embedding.weight").zero_();
      m.namedParameters().get("vision_model.embeddings.class_embedding").zero_();
      Tensor x = new InternVision(withSelectLayer(m.config(), 0), m.weightsForTests()).tower(torch.zeros(1, 3, 84, 84));
      assertEquals(37, x.size(1));
      Tensor grid = x.select(0, 0).narrow(0, 1, 36);                                       // (36, C)
      Tensor rows = grid.select(1, 0).reshape(6, 6);
      Tensor cols = grid.select(1, 1).reshape(6, 6);
      // Row values vary down the grid only, column values across it only, both increasing.
      assertTrue(rows.sub(rows.select(1, 0).unsqueeze(1)).abs().max().item_double() < 1e-5);
      assertTrue(cols.sub(cols.select(0, 0).unsqueeze(0)).abs().max().item_double() < 1e-5);
      float[] r = new float[6];
      rows.select(1, 0).contiguous().data_ptr_float().get(r);
      for (int i = 1; i < 6; i++) {
        assertTrue(r[i] > r[i - 1], java.util.Arrays.toString(r));
      }
      assertFalse(Double.isNaN(x.sum().item_double()));
    }
  }
}
