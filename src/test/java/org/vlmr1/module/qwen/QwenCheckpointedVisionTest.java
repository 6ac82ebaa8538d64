// A checkpointed Qwen2.5-VL pass (--gradient_checkpointing) with a training vision tower keeps one input per vision
// block too, and gives the plain pass's hidden states and gradients (tower included); with cached image_embeds (a
// frozen tower) only the decoder's inputs are kept.
package org.vlmr1.module.qwen;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.CheckpointedPass;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;

class QwenCheckpointedVisionTest {
  @Test
  void visionBlocksAreSegmentsWhenTheTowerTrains(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("QwenCheckpointedVisionTest seed " + seed);
    QwenTiny.Spec spec = new QwenTiny.Spec(32, 2, 4, 2, 64, 3, 32, 2, seed);
    QwenTiny.write(spec, dir);
    VlmModule module = VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 20000L));
    RgbImage img = RgbImage.read(QwenImageProcessorTest.caseA().resolve("image_1_300x200.png"));
    List<String> prompts = module.preparePrompt(List.of(Conversation.userTurn(1, "Where is the cat?"),
        Conversation.userTurn(0, "Say hi.")));
    try (QwenVlModel model = QwenVlModel.load(dir); PointerScope s = new PointerScope()) {
      model.namedParameters().values().forEach(t -> t.requires_grad_(t.is_floating_point()));
      ModelInputs batch = module.prepareModelInputs(prompts, List.of(List.of(img), List.of()));
      int from = (int) batch.inputIds().size(1) - 6;
      Tensor plain = model.lastHidden(batch.inputIds(), batch.attentionMask(), batch.multimodal(), from);
      Tensor g = torch.randn(plain.sizes().vec().get());                                        // (B, 6, H)
      plain.backward(g, new BoolOptional(), false, null);
      Map<String, Tensor> want = grads(model);
      assertTrue(want.keySet().stream().anyMatch(k -> k.startsWith("visual.blocks.")), "the tower trains");

      CheckpointedPass ck = model.lastHiddenCheckpointed(batch.inputIds(), batch.attentionMask(), batch.multimodal(),
          from);
      // the blocks' inputs, the merger's, the placement's (the features), the layers' and the final norm's
      assertEquals(spec.visionDepth() + 2 + spec.numLayers() + 1, ck.keptInputs().size(), "kept inputs");
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
      assertEquals(spec.numLayers() + 1, frozen.keptInputs().size(), "a frozen tower's features are no segment");
    }
  }

  /** The parameters' gradients (copies), then cleared. */
  private static Map<String, Tensor> grads(QwenVlModel model) {
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
