// Qwen2.5-VL forward against the Hugging Face golden case_a (transformers 4.50, f32, eager attention): vision pieces,
// vision embeddings, position ids and rope deltas, hidden states and logits at unmasked positions, batched vs single
// rows.
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.kernels.TensorChecks;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.vlmr1.model.PassInputs;

class QwenVlModelTest {

  static Tensor f32(String name) throws Exception {
    return QwenGolden.f32(name);
  }

  static Tensor i64(String name) throws Exception {
    return QwenGolden.i64(name);
  }

  static List<GridThw> grids(String name) throws Exception {
    return QwenGolden.grids(name);
  }

  static double maxDiff(Tensor a, Tensor b) {
    return a.sub(b).abs().max().item_double();
  }

  static void close(String what, Tensor want, Tensor got, double tol) {
    assertArrayEquals(org.vlmr1.kernels.TensorChecks.shape(want), org.vlmr1.kernels.TensorChecks.shape(got), what);
    double d = maxDiff(want, got);
    System.out.printf("%-28s max |diff| %.3g%n", what, d);
    assertTrue(d <= tol, what + ": max |diff| " + d + " > " + tol);
  }

  @Test
  void visionTowerMatches() throws Exception {
    try (PointerScope s = new PointerScope()) {
      List<GridThw> g = grids("image_grid_thw");
      QwenVision v = QwenGolden.model().vision();
      QwenVision.WindowIndex wi = v.windowIndex(g);
      assertArrayEquals(QwenGolden.golden().longs("vision_window_index"), wi.index());
      assertArrayEquals(QwenGolden.golden().longs("vision_cu_window_seqlens"), wi.cuWindowSeqlens());
      close("rot_pos_emb", f32("vision_rot_pos_emb"), v.rotPosEmb(g), 1e-6);
      close("vision_embeds", f32("vision_embeds"), v.forward(f32("pixel_values"), g), 1e-4);
    }
  }

  @Test
  void batchedForwardMatches() throws Exception {
    try (PointerScope s = new PointerScope()) {
      Tensor mask = i64("attention_mask");
      QwenVlModel.Output out = QwenGolden.model().forward(i64("input_ids"), mask,
          PassInputs.of("pixel_values", f32("pixel_values"), "image_grid_thw",
              GridThw.tensor(grids("image_grid_thw"))), true);
      assertArrayEquals(QwenGolden.golden().longs("position_ids"), TensorChecks.longs(out.positions().ids()));
      assertArrayEquals(QwenGolden.golden().longs("rope_deltas"), TensorChecks.longs(out.positions().decodeOffset()));
      Tensor m = mask.unsqueeze(-1).to(org.bytedeco.pytorch.global.torch.ScalarType.Float);   // (B, L, 1)
      close("inputs_embeds", f32("inputs_embeds").mul(m), out.hiddenStates().get(0).mul(m), 1e-5);
      Tensor hs = f32("hidden_states");
      for (int i = 1; i < out.hiddenStates().size(); i++) {
        close("hidden_states[" + i + "]", hs.select(0, i).mul(m), out.hiddenStates().get(i).mul(m), 1e-4);
      }
      close("logits (unmasked)", f32("logits").mul(m), out.logits().mul(m), 1e-4);
    }
  }

  @Test
  void singleRowsMatchTheirGolden() throws Exception {
    List<GridThw> all = grids("image_grid_thw");
    long[] order = QwenGolden.golden().longs("image_order");
    try (PointerScope s = new PointerScope()) {
      // Row 0 has image 0 (24 patch rows); row 1 images 1 and 2 (the next 48 + 40 rows).
      Tensor pv = f32("pixel_values");
      QwenVlModel.Output r0 = QwenGolden.model().forward(i64("row0_input_ids"), null,
          PassInputs.of("pixel_values", pv.narrow(0, 0, 24), "image_grid_thw", GridThw.tensor(all.subList(0, 1))),
              true);
      close("row0 logits", f32("row0_logits"), r0.logits(), 1e-4);
      QwenVlModel.Output r1 = QwenGolden.model().forward(i64("row1_input_ids"), null,
          PassInputs.of("pixel_values", pv.narrow(0, 24, 88), "image_grid_thw", GridThw.tensor(all.subList(1, 3))),
              true);
      close("row1 logits", f32("row1_logits"), r1.logits(), 1e-4);
      assertArrayEquals(new long[] {0, 1, 2}, order);
    }
  }
}
