// Qwen2-VL's vision tower (no golden case exists) against a hand-written reference of transformers'
// Qwen2VisionTransformerPretrainedModel for one block: LayerNorm from its formula, full attention with an explicit
// softmax, QuickGELU MLP, LayerNorm merger with exact GELU. The rotary angles are the shared rot_pos_emb, which the
// Qwen2.5-VL golden case checks.
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.Weights;

class Qwen2VisionTest {

  static Tensor layerNorm(Tensor x, Tensor w, Tensor b) {
    Tensor mean = x.mean(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional());
    Tensor c = x.sub(mean);
    Tensor var = c.pow(new Scalar(2)).mean(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional());
    return c.div(var.add(new Scalar(1e-6)).sqrt()).mul(w).add(b);
  }

  static Tensor rotate(Tensor x, Tensor cos, Tensor sin) {
    long d = x.size(-1);
    Tensor rot = torch.cat(new TensorVector(x.narrow(-1, d / 2, d / 2).neg(), x.narrow(-1, 0, d / 2)), -1);
    return x.mul(cos).add(rot.mul(sin));
  }

  @Test
  void oneBlockMatchesAHandWrittenReference(@TempDir Path dir) throws Exception {
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 13), dir, "qwen2_vl");
    QwenConfig cfg = QwenConfig.read(dir);
    try (Weights w = Weights.load(dir, k -> k); PointerScope s = new PointerScope()) {
      torch.manual_seed(5);
      List<GridThw> grids = List.of(new GridThw(1, 4, 6));
      Tensor pixels = torch.randn(24, 1176);
      QwenVision vision = new QwenVision(cfg.vision(), w);
      Tensor got = vision.forward(pixels, grids);
      // Reference (transformers 4.50 Qwen2-VL, eager): everything in plain ops, one image, one block.
      Tensor x = pixels.mm(w.get("visual.patch_embed.proj.weight").reshape(32, 1176).t());          // (S, 32)
      Tensor theta = vision.rotPosEmb(grids);                                                       // (S, 8)
      Tensor emb = torch.cat(new TensorVector(theta, theta), -1);
      Tensor cos = emb.cos().unsqueeze(1);
      Tensor sin = emb.sin().unsqueeze(1);
      String p = "visual.blocks.0.";
      Tensor h = layerNorm(x, w.get(p + "norm1.weight"), w.get(p + "norm1.bias"));
      Tensor qkv = h.mm(w.get(p + "attn.qkv.weight").t()).add(w.get(p + "attn.qkv.bias")).reshape(24, 3, 2, 16);
      Tensor q = rotate(qkv.select(1, 0), cos, sin).transpose(0, 1);                               // (heads, S, 16)
      Tensor k = rotate(qkv.select(1, 1), cos, sin).transpose(0, 1);
      Tensor v = qkv.select(1, 2).transpose(0, 1);
      Tensor att = torch.softmax(q.matmul(k.transpose(1, 2)).div(new Scalar(Math.sqrt(16))), -1).matmul(v);
      Tensor o = att.transpose(0, 1).reshape(24, 32);
      x = x.add(o.mm(w.get(p + "attn.proj.weight").t()).add(w.get(p + "attn.proj.bias")));
      h = layerNorm(x, w.get(p + "norm2.weight"), w.get(p + "norm2.bias"));
      Tensor a = h.mm(w.get(p + "mlp.fc1.weight").t()).add(w.get(p + "mlp.fc1.bias"));
      a = a.mul(torch.sigmoid(a.mul(new Scalar(1.702))));                                          // QuickGELU
      x = x.add(a.mm(w.get(p + "mlp.fc2.weight").t()).add(w.get(p + "mlp.fc2.bias")));
      Tensor y = layerNorm(x, w.get("visual.merger.ln_q.weight"), w.get("visual.merger.ln_q.bias")).reshape(6, 128);
      y = torch.gelu(y.mm(w.get("visual.merger.mlp.0.weight").t()).add(w.get("visual.merger.mlp.0.bias")));
      Tensor want = y.mm(w.get("visual.merger.mlp.2.weight").t()).add(w.get("visual.merger.mlp.2.bias"));
      double d = want.sub(got).abs().max().item_double();
      assertTrue(d < 1e-5, "max |diff| " + d);
    }
  }
}
