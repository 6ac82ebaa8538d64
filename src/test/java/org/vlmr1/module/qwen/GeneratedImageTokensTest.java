// A completion may sample <|image_pad|> or <|vision_start|> (tiny random policies do): the GRPO passes treat them as
// the ordinary tokens generation embedded, so image slots and M-RoPE's image scan see the prompt only. Before, the
// loss forward counted them as image slots and failed ("image features and image tokens do not match").
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.RgbImage;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;

class GeneratedImageTokensTest {
  @Test
  void imagePlaceholdersInTheCompletionAreText(@TempDir Path dir) throws Exception {
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 3), dir);
    VlmModule module = VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 12544L));
    RgbImage img = RgbImage.read(QwenImageProcessorTest.caseA().resolve("image_1_300x200.png"));
    List<String> prompts = module.preparePrompt(List.of(Conversation.userTurn(1, "Where is the cat?")));
    try (QwenVlModel model = QwenVlModel.load(dir); PointerScope s = new PointerScope()) {
      ModelInputs in = module.prepareModelInputs(prompts, List.of(List.of(img)));
      long p = in.inputIds().size(1);
      long imagePad = model.imageSlotId();
      long visionStart = model.config().visionStartTokenId();
      Tensor special = torch.tensor(new long[] {visionStart, imagePad, 100, imagePad}).reshape(1, 4);
      Tensor plain = torch.tensor(new long[] {101, 102, 100, 103}).reshape(1, 4);
      Map<String, Tensor> mm = in.multimodal();
      Tensor a = model.lastHidden(withCompletion(in, special), mask(p + 4), mm, (int) p - 1);  // (1, 5, H)
      Tensor b = model.lastHidden(withCompletion(in, plain), mask(p + 4), mm, (int) p - 1);
      assertTrue(torch.isfinite(a).all().item_bool());
      // The position that predicts the first completion token sees the prompt only: the same for both completions
      // (had the sampled tokens been taken as image slots or moved M-RoPE's positions, it would differ or fail).
      double d = a.select(1, 0).sub(b.select(1, 0)).abs().max().item_double();
      assertTrue(d < 1e-6, "first completion position differs by " + d);
    }
  }

  private static Tensor withCompletion(ModelInputs in, Tensor completion) {
    return torch.cat(new TensorVector(in.inputIds(), completion), 1);
  }

  private static Tensor mask(long n) {
    return torch.ones(1, n).to(torch.ScalarType.Long);
  }
}
