// Greedy generation with the KV cache against the golden: generated ids equal, every step's logits within 1e-4,
// batched (left padded) = single rows; sampling is reproducible from (seed, step, sample index).
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.model.PassInputs;

class QwenGeneratorTest {

  @Test
  void greedyBatchMatchesTransformers() throws Exception {
    try (PointerScope s = new PointerScope()) {
      List<GridThw> g = QwenGolden.grids("image_grid_thw");
      org.vlmr1.model.Generator.Result r = QwenGolden.model().generateCompletions(QwenGolden.i64("input_ids"),
          QwenGolden.i64("attention_mask"), PassInputs.of("pixel_values", QwenGolden.f32("pixel_values"),
              "image_grid_thw", GridThw.tensor(g)),
          SamplingConfig.greedy(8), new long[] {1002}, 1000, 0, 0, true);
      long[] want = QwenGolden.golden().longs("generated_ids");
      for (int row = 0; row < 2; row++) {
        assertArrayEquals(java.util.Arrays.copyOfRange(want, row * 8, row * 8 + 8), r.ids()[row], "row " + row);
      }
      float[] gl = QwenGolden.golden().floats("gen_logits"); // (8, 2, 1024)
      double max = 0;
      for (int t = 0; t < 8; t++) {
        for (int row = 0; row < 2; row++) {
          for (int v = 0; v < 1024; v++) {
            max = Math.max(max, Math.abs(gl[(t * 2 + row) * 1024 + v] - r.stepLogits().get(t)[row][v]));
          }
        }
      }
      System.out.println("generation step logits max |diff| " + max);
      assertTrue(max <= 1e-4, "step logits max |diff| " + max);
    }
  }

  @Test
  void eosStopsARowAndSamplingIsReproducible() throws Exception {
    try (PointerScope s = new PointerScope()) {
      Tensor ids = QwenGolden.i64("row0_input_ids");
      Tensor pv = QwenGolden.f32("pixel_values").narrow(0, 0, 24);
      List<GridThw> g = QwenGolden.grids("image_grid_thw").subList(0, 1);
      // The golden greedy row 0 starts 702, 394: declare 394 an EOS and the row stops after it.
      org.vlmr1.model.Generator.Result stop = QwenGolden.model().generateCompletions(ids, null,
          PassInputs.of("pixel_values", pv, "image_grid_thw", GridThw.tensor(g)), SamplingConfig.greedy(8),
              new long[] {394}, 1000, 0, 0, false);
      assertArrayEquals(new long[] {702, 394, 1000, 1000, 1000, 1000, 1000, 1000}, stop.ids()[0]);
      assertArrayEquals(new long[] {1, 1, 0, 0, 0, 0, 0, 0}, stop.mask()[0]);
      SamplingConfig sample = new SamplingConfig(false, 1.0, 50, 0.95, 1234, 6);
      org.vlmr1.model.Generator.Result a = QwenGolden.model().generateCompletions(ids, null,
          PassInputs.of("pixel_values", pv, "image_grid_thw", GridThw.tensor(g)), sample, new long[] {1002}, 1000, 3,
          17, false);
      org.vlmr1.model.Generator.Result b = QwenGolden.model().generateCompletions(ids, null,
          PassInputs.of("pixel_values", pv, "image_grid_thw", GridThw.tensor(g)), sample, new long[] {1002}, 1000, 3,
          17, false);
      assertArrayEquals(a.ids()[0], b.ids()[0], "same (seed, step, sample index): same completion");
      org.vlmr1.model.Generator.Result c = QwenGolden.model().generateCompletions(ids, null,
          PassInputs.of("pixel_values", pv, "image_grid_thw", GridThw.tensor(g)), sample, new long[] {1002}, 1000, 4,
          17, false);
      assertEquals(6, c.ids()[0].length);
    }
  }
}
