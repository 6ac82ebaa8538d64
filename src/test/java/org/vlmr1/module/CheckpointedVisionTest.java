// A checkpointed pass (--gradient_checkpointing) with a training vision tower keeps one input per vision block too
// (Qwen2.5-VL's blocks and merger, InternViT's blocks and mlp1), and gives the plain pass's hidden states and
// gradients, the tower's included; with cached image_embeds (a frozen tower) only the decoder's inputs are kept.
package org.vlmr1.module;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.CheckpointedPass;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.internvl.InternVlTiny;
import org.vlmr1.module.qwen.QwenTiny;

class CheckpointedVisionTest {
  private static final int LAYERS = 2;
  private static final int VISION_DEPTH = 3;

  @ParameterizedTest
  @ValueSource(strings = {"qwen2_5_vl", "internvl_chat"})
  void visionBlocksAreSegmentsWhenTheTowerTrains(String family, @TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("CheckpointedVisionTest " + family + " seed " + seed);
    ModuleOptions opts = ModuleOptions.DEFAULTS;
    if (family.equals("internvl_chat")) {
      InternVlTiny.write(new InternVlTiny.Spec(32, LAYERS, 4, 2, 64, VISION_DEPTH, 32, 2, 56, 2, seed), dir);
    } else {
      QwenTiny.write(new QwenTiny.Spec(32, LAYERS, 4, 2, 64, VISION_DEPTH, 32, 2, seed), dir);
      opts = opts.withProcessing("min_pixels", 3136L).withProcessing("max_pixels", 12544L);
    }
    VlmModule module = VlmModules.forCheckpoint(dir, null, opts);
    java.util.Random rnd = new java.util.Random(seed);
    byte[] px = new byte[84 * 56 * 3];
    rnd.nextBytes(px);
    RgbImage img = new RgbImage(84, 56, px);
    List<String> prompts = module.preparePrompt(List.of(Conversation.userTurn(1, "Where is the box?"),
        Conversation.userTurn(0, "Say hi.")));
    try (VlmModel model = module.loadModel(dir); PointerScope s = new PointerScope()) {
      module.postModelInit(model);
      model.namedParameters().values().forEach(t -> t.requires_grad_(t.is_floating_point()));
      ModelInputs batch = module.prepareModelInputs(prompts, List.of(List.of(img), List.of()));
      int from = (int) batch.inputIds().size(1) - 6;
      Tensor plain = model.lastHidden(batch.inputIds(), batch.attentionMask(), batch.multimodal(), from);
      Tensor g = torch.randn(plain.sizes().vec().get());                                        // (B, 6, H)
      plain.backward(g, new BoolOptional(), false, null);
      Map<String, Tensor> want = grads(model);
      List<String> vision = want.keySet().stream().filter(k -> module.visionModulesKeywords().stream()
          .anyMatch(k::contains)).toList();
      assertTrue(!vision.isEmpty(), "the tower trains: " + want.keySet());

      CheckpointedPass ck = model.lastHiddenCheckpointed(batch.inputIds(), batch.attentionMask(), batch.multimodal(),
          from);
      // the blocks' inputs, the merger's (mlp1's), the placement's (the features), the layers' and the final norm's
      assertEquals(VISION_DEPTH + 2 + LAYERS + 1, ck.keptInputs().size(), "kept inputs");
      assertTrue(torch.allclose(ck.output(), plain.detach(), 1e-5, 1e-6, false), "same hidden states");
      ck.output().backward(g, new BoolOptional(), false, null);
      ck.backward();
      Map<String, Tensor> got = grads(model);
      assertEquals(want.keySet(), got.keySet());
      List<String> bad = new ArrayList<>();
      want.forEach((k, w) -> {
        double scale = w.abs().max().item_double();
        double diff = got.get(k).sub(w).abs().max().item_double();
        if (!(diff <= 1e-5 * scale + 1e-12)) {
          bad.add(k + ": " + diff + " over " + scale);
        }
      });
      assertTrue(bad.isEmpty(), bad.toString());

      Map<String, Tensor> cached = new LinkedHashMap<>(batch.multimodal());
      try (NoGradGuard ng = new NoGradGuard()) {
        cached.put(VlmModel.IMAGE_EMBEDS, model.imageEmbeds(batch.multimodal()));
      }
      CheckpointedPass frozen = model.lastHiddenCheckpointed(batch.inputIds(), batch.attentionMask(), cached, from);
      assertEquals(LAYERS + 1, frozen.keptInputs().size(), "a frozen tower's features are no segment");
    }
  }

  /** The parameters' gradients (copies), then cleared. */
  private static Map<String, Tensor> grads(VlmModel model) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    model.namedParameters().forEach((k, v) -> {
      if (v.requires_grad() && v.grad().defined()) {
        out.put(k, v.grad().detach().clone());
        v.mutable_grad().put(new Tensor());
      }
    });
    return out;
  }
}
