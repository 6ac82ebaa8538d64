// InternVL forward and generation against the golden case_a (InternVLChatModel with a Qwen2 LLM, f32, eager): the
// vision tower, extract_feature, hidden states and logits at unmasked positions of a left-padded batch, single rows
// (one of them text-only with a dummy tile of flag 0), and greedy ids with every step's logits.
package org.vlmr1.module.internvl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.model.Generator;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.model.PassInputs;

class InternVlModelTest {
  static void close(String what, Tensor want, Tensor got, double tol) {
    assertArrayEquals(TensorChecks.shape(want), TensorChecks.shape(got), what);
    double d = want.sub(got).abs().max().item_double();
    System.out.printf("%-30s max |diff| %.3g%n", what, d);
    assertTrue(d <= tol, what + ": max |diff| " + d + " > " + tol);
  }

  /** Max |diff| over the positions whose mask is 1. */
  static void closeMasked(String what, Tensor want, Tensor got, Tensor mask, double tol) {
    assertArrayEquals(TensorChecks.shape(want), TensorChecks.shape(got), what);
    Tensor keep = mask.to(torch.ScalarType.Bool).unsqueeze(-1).expand_as(want);
    double d = want.sub(got).abs().masked_select(keep).max().item_double();
    System.out.printf("%-30s max |diff| %.3g (unmasked)%n", what, d);
    assertTrue(d <= tol, what + ": max |diff| " + d + " > " + tol);
  }

  @Test
  void visionTowerAndProjectorMatch() throws Exception {
    try (PointerScope s = new PointerScope()) {
      InternVision v = InternVlGolden.model().vision();
      Tensor pv = InternVlGolden.f32("pixel_values");
      close("vit_last_hidden_state", InternVlGolden.f32("vit_last_hidden_state"), v.tower(pv), 1e-4);
      close("vit_embeds", InternVlGolden.f32("vit_embeds"), v.extractFeature(pv), 1e-4);
    }
  }

  @Test
  void batchedForwardMatches() throws Exception {
    try (PointerScope s = new PointerScope()) {
      Tensor mask = InternVlGolden.i64("attention_mask");
      InternVlModel.Output o = InternVlGolden.model().forward(InternVlGolden.i64("input_ids"), mask,
          PassInputs.of("pixel_values", InternVlGolden.f32("pixel_values"), "image_flags",
              InternVlGolden.i64("image_flags")), true);
      Tensor hs = InternVlGolden.f32("hidden_states");
      for (int i = 0; i < hs.size(0); i++) {
        closeMasked("hidden_states[" + i + "]", hs.select(0, i), o.hiddenStates().get(i), mask, 1e-4);
      }
      closeMasked("logits", InternVlGolden.f32("logits"), o.logits(), mask, 1e-4);
    }
  }

  @Test
  void singleRowsMatchTheirOwnGoldenAndTheBatch() throws Exception {
    long[] tiles = InternVlGolden.golden().longs("num_patches_list");
    Tensor pv = InternVlGolden.f32("pixel_values");
    // Row 0 has the first image block's tiles, row 1 the rest (image_order: prompt order).
    long[][] ranges = {{0, tiles[0]}, {tiles[0], pv.size(0) - tiles[0]}};
    for (int r = 0; r < 2; r++) {
      try (PointerScope s = new PointerScope()) {
        Tensor ids = InternVlGolden.i64("row" + r + "_input_ids");
        long count = ids.eq(new org.bytedeco.pytorch.Scalar(InternVlGolden.IMG_CONTEXT)).sum().item_long();
        Tensor rowPv = count == 0 ? null : pv.narrow(0, ranges[r][0], ranges[r][1]);
        InternVlModel.Output o = InternVlGolden.model().forward(ids, null, PassInputs.of("pixel_values", rowPv,
            "image_flags", null), true);
        close("row" + r + " logits", InternVlGolden.f32("row" + r + "_logits"), o.logits(), 1e-4);
      }
    }
  }

  @Test
  void greedyGenerationMatches() throws Exception {
    try (PointerScope s = new PointerScope()) {
      Generator.Result r = InternVlGolden.model().generateCompletions(InternVlGolden.i64("input_ids"),
          InternVlGolden.i64("attention_mask"), PassInputs.of("pixel_values", InternVlGolden.f32("pixel_values"),
              "image_flags", InternVlGolden.i64("image_flags")), SamplingConfig.greedy(8),
              new long[] {InternVlGolden.IM_END},
          InternVlGolden.PAD, 0, 0, true);
      long[] want = InternVlGolden.golden().longs("generated_ids");
      long[] got = new long[want.length];
      for (int b = 0; b < 2; b++) {
        System.arraycopy(r.ids()[b], 0, got, b * 8, 8);
      }
      assertArrayEquals(want, got, "greedy ids");
      Tensor gl = InternVlGolden.f32("gen_logits");
      double worst = 0;
      for (int t = 0; t < r.stepLogits().size(); t++) {
        for (int b = 0; b < 2; b++) {
          float[] mine = r.stepLogits().get(t)[b];
          Tensor ref = gl.select(0, t).select(0, b).contiguous();
          float[] theirs = new float[mine.length];
          ref.data_ptr_float().get(theirs);
          for (int v = 0; v < mine.length; v++) {
            worst = Math.max(worst, Math.abs(mine[v] - theirs[v]));
          }
        }
      }
      System.out.printf("generation step logits max |diff| %.3g%n", worst);
      assertTrue(worst <= 1e-4, "step logits differ by " + worst);
    }
  }

  @Test
  void dummyTilesWithFlagZeroAreIgnored() throws Exception {
    try (PointerScope s = new PointerScope()) {
      Tensor ids = InternVlGolden.i64("row0_input_ids");
      Tensor pv = InternVlGolden.f32("pixel_values");
      long[] tiles = InternVlGolden.golden().longs("num_patches_list");
      Tensor own = pv.narrow(0, 0, tiles[0]);
      // The row's own tiles followed by a flag-0 tile give the same logits as the own tiles alone.
      Tensor withDummy = torch.cat(new org.bytedeco.pytorch.TensorVector(own, pv.narrow(0, 0, 1)), 0);
      long[] flags = new long[(int) tiles[0] + 1];
      java.util.Arrays.fill(flags, 1);
      flags[flags.length - 1] = 0;
      Tensor a = InternVlGolden.model().forward(ids, null, PassInputs.of("pixel_values", own, "image_flags", null),
          true).logits();
      Tensor b = InternVlGolden.model().forward(ids, null, PassInputs.of("pixel_values", withDummy, "image_flags",
          torch.tensor(flags).reshape(-1, 1)), true)
          .logits();
      assertEquals(0.0, a.sub(b).abs().max().item_double(), 0.0);
      // Too few features for the <IMG_CONTEXT> tokens is a clear error.
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> InternVlGolden.model().forward(ids, null, PassInputs.of("pixel_values", pv.narrow(0, 0, 1),
              "image_flags", null), false));
      assertTrue(e.getMessage().contains("<IMG_CONTEXT>"), e.getMessage());
    }
  }
}
