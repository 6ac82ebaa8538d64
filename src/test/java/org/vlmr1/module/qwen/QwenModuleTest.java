// The Qwen module behind the contract: registry lookup from config.json, id resolution, the chat template rendered
// exactly, and prepareModelInputs on a mixed batch (multi-image and text-only rows) with the real tokenizer.
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.RgbImage;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.HfTokenizer;
import org.vlmr1.module.HfTokenizerTest;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.reward.RecIouReward;

class QwenModuleTest {
  static final long IM_START = 151644;
  static final long IMAGE_PAD = 151655;
  static final long PAD = 151643;

  static Path checkpoint() throws Exception {
    return QwenImageProcessorTest.caseA().resolve("checkpoint");
  }

  @Test
  void registryFindsQwenFromModelTypeAndReadsIdsFromConfig() throws Exception {
    VlmModule m = VlmModules.forCheckpoint(checkpoint(), null, ModuleOptions.DEFAULTS);
    assertEquals("qwen", m.vlmKey());
    assertEquals(List.of("pixel_values", "image_grid_thw"), m.customMultimodalKeywords());
    assertArrayEquals(new long[] {1002}, m.eosTokenIds(), "no tokenizer: generation_config's eos");
    assertEquals(1000, m.padTokenId(), "no pad id anywhere: BOS");
    assertTrue(m.selectRewardFunction("accuracy", "rec") instanceof RecIouReward);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> m.prepareModelInputs(List.of("x"), List.of(List.of())));
    assertTrue(e.getMessage().contains("--tokenizer"), e.getMessage());
  }

  @Test
  void unknownFamiliesAreNamed(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llava\"}");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS));
    assertTrue(e.getMessage().contains("llava") && e.getMessage().contains("qwen2_5_vl")
        && e.getMessage().contains("internvl_chat"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> VlmModules.forCheckpoint(dir, "nope", ModuleOptions.DEFAULTS));
    assertEquals("qwen", VlmModules.forCheckpoint(checkpoint(), "qwen", ModuleOptions.DEFAULTS).vlmKey());
  }

  @Test
  void chatTemplateRendersExactly() {
    String q = "Please provide the bounding box coordinate of the region this sentence describes: the cat.";
    QwenModule m = new QwenModule("qwen2_5_vl", null, new QwenImageProcessor(3136, 12845056),
        new QwenIds(IMAGE_PAD, new long[] {151645}, PAD));
    String text = m.questionTemplate("rec").replace("{Question}", q);
    assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        + "<|vision_start|><|image_pad|><|vision_end|><|vision_start|><|image_pad|><|vision_end|>" + q
        + " First output the thinking process in <think> </think> tags and then output the final answer in <answer> "
        + "</answer> tags. Output the final answer in JSON format.<|im_end|>\n<|im_start|>assistant\n",
        m.preparePrompt(List.of(Conversation.userTurn(2, text))).get(0));
    Conversation withSystem = new Conversation(List.of(
        new Conversation.Message("system", List.of(new Conversation.Text("Be brief."))),
        new Conversation.Message("user", List.of(new Conversation.Text("Hi")))));
    assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        QwenChatTemplate.render(withSystem, true));
    assertTrue(m.questionTemplate("odLength").endsWith("\n{Question}"));
    assertTrue(m.questionTemplate(null).startsWith("{Question} First output"));
  }

  @Test
  void preparesAMixedBatchLeftPadded(@TempDir Path dir) throws Exception {
    Path tok = HfTokenizerTest.qwenTokenizer(dir);
    ModuleOptions o = ModuleOptions.DEFAULTS.withTokenizer(tok).withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 12544L);
    QwenModule m = QwenModule.create(checkpoint(), o);
    assertArrayEquals(new long[] {151645, 1002}, m.eosTokenIds(),
        "the tokenizer's <|im_end|> first, then generation_config's (any of them ends a completion)");
    assertEquals(PAD, m.padTokenId());
    Path a = QwenImageProcessorTest.caseA();
    RgbImage img1 = RgbImage.read(a.resolve("image_1_300x200.png"));
    RgbImage img2 = RgbImage.read(a.resolve("image_2_57x130.png"));
    List<String> prompts = m.preparePrompt(List.of(Conversation.userTurn(2, "Where is it?"),
        Conversation.userTurn(0, "What is 2+2?")));
    try (PointerScope s = new PointerScope()) {
      ModelInputs in = m.prepareModelInputs(prompts, List.of(List.of(img1, img2), List.of()));
      long[] shape = TensorChecks.shape(in.inputIds());
      assertEquals(2, shape[0]);
      long[] ids = longs(in.inputIds());
      long[] mask = longs(in.attentionMask());
      int len = (int) shape[1];
      long pads0 = 0;
      for (int k = 0; k < len; k++) {
        pads0 += ids[k] == IMAGE_PAD ? 1 : 0;
      }
      assertEquals(12 + 10, pads0, "grids [1,6,8] and [1,10,4]: 12 + 10 image tokens");
      assertEquals(IM_START, ids[0], "the longest row is not padded");
      long[] text1 = HfTokenizer.load(tok).encode(prompts.get(1));
      int padLen = len - text1.length;
      for (int k = 0; k < len; k++) {
        assertEquals(k < padLen ? PAD : text1[k - padLen], ids[len + k], "row 1 position " + k);
        assertEquals(k < padLen ? 0 : 1, mask[len + k]);
      }
      assertEquals(List.of("pixel_values", "image_grid_thw"), List.copyOf(in.multimodal().keySet()));
      assertArrayEquals(new long[] {88, 1176}, TensorChecks.shape(in.multimodal().get("pixel_values")));
      assertArrayEquals(new long[] {1, 6, 8, 1, 10, 4}, longs(in.multimodal().get("image_grid_thw")));
      assertEquals(List.of(new org.vlmr1.util.InputFrame(8 * 14, 6 * 14), new org.vlmr1.util.InputFrame(4 * 14,
          10 * 14)),
          in.perExample().get(0).inputFrames());
      assertEquals(List.of(), in.perExample().get(1).inputFrames());
    }
    assertThrows(IllegalArgumentException.class,
        () -> m.prepareModelInputs(List.of(prompts.get(0)), List.of(List.of(img1))), "2 pads, 1 image");
  }

  static long[] longs(Tensor t) {
    Tensor c = t.contiguous();
    long[] out = new long[(int) c.numel()];
    c.data_ptr_long().get(out);
    return out;
  }
}
