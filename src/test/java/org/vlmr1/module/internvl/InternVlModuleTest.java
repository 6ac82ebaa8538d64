// The InternVL module: tiles and pixel values against the golden case_a (PIL bicubic + torchvision transforms, bit for
// bit), the native tile kernel against its Java reference, the internvl2_5 template, <IMG_CONTEXT> expansion with
// left padding and a dummy tile for text-only rows, and a mixed batch giving each row's own results.
package org.vlmr1.module.internvl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.RgbImage;
import org.vlmr1.kernels.ImageKernels;
import org.vlmr1.kernels.KernelBackend;
import org.vlmr1.model.Generator;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.model.PassInputs;

class InternVlModuleTest {
  private static final String[] IMAGES = {"image_0_97x61.png", "image_1_300x200.png", "image_2_57x130.png"};

  @Test
  void tilesAndPixelValuesMatchTheGolden() throws Exception {
    InternVlImageProcessor proc = new InternVlImageProcessor(56, 1, 6, true);
    long[] order = InternVlGolden.golden().longs("image_order");
    long[] tiles = InternVlGolden.golden().longs("num_patches_list");
    float[] want = InternVlGolden.golden().floats("pixel_values");
    int tile = 3 * 56 * 56;
    int off = 0;
    for (int k = 0; k < order.length; k++) {
      int idx = (int) order[k];
      RgbImage img = RgbImage.read(InternVlGolden.caseA().resolve(IMAGES[idx]));
      assertEquals(tiles[k], proc.numTiles(img), IMAGES[idx] + " tiles");
      List<RgbImage> u8 = proc.tileImages(img);
      byte[] goldTiles = bytes(InternVlGolden.golden().bytes("image" + idx + "_tiles_u8"));
      for (int t = 0; t < u8.size(); t++) {
        byte[] mine = u8.get(t).hwc();
        byte[] theirs = java.util.Arrays.copyOfRange(goldTiles, t * mine.length, (t + 1) * mine.length);
        assertArrayEquals(theirs, mine, IMAGES[idx] + " tile " + t + " (uint8, PIL bicubic)");
      }
      float[] pv = proc.pixelValues(img);
      assertEquals(tiles[k] * tile, pv.length);
      assertArrayEquals(proc.pixelValuesReference(img), pv, "native kernels = Java reference, bit for bit");
      double worst = 0;
      for (int i = 0; i < pv.length; i++) {
        worst = Math.max(worst, Math.abs(pv[i] - want[off + i]));
      }
      off += pv.length;
      System.out.printf("%s: %d tiles, pixel_values max |diff| %.3g%n", IMAGES[idx], tiles[k], worst);
      assertTrue(worst <= 1e-6, IMAGES[idx] + " pixel_values differ by " + worst);
    }
    assertEquals(want.length, off);
  }

  private static byte[] bytes(java.nio.ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  @Test
  void nativeTileKernelEqualsTheJavaReference() {
    long seed = System.nanoTime();
    System.out.println("seed " + seed);
    Random rnd = new Random(seed);
    assertEquals(KernelBackend.NATIVE, ImageKernels.backend(), "the native image kernels load in tests");
    for (int trial = 0; trial < 5; trial++) {
      int s = 14 * (1 + rnd.nextInt(4));
      int cols = 1 + rnd.nextInt(3);
      int rows = 1 + rnd.nextInt(3);
      byte[] px = new byte[cols * s * rows * s * 3];
      rnd.nextBytes(px);
      RgbImage img = new RgbImage(cols * s, rows * s, px);
      float[] ref = InternVlImageProcessor.normalise(img, cols, rows, s);
      float[] nat = ImageKernels.internvlTiles(img.hwc(), img.width(), img.height(), cols, rows, s,
          InternVlImageProcessor.MEAN, InternVlImageProcessor.STD, () -> {
            throw new AssertionError("the native path must run");
          });
      assertArrayEquals(ref, nat, "grid " + cols + "x" + rows + " of " + s + " px");
    }
    assertThrows(IllegalArgumentException.class, () -> ImageKernels.internvlTiles(new byte[56 * 28 * 3], 56, 28,
        1, 1, 56, InternVlImageProcessor.MEAN, InternVlImageProcessor.STD, () -> null));
  }

  @Test
  void templateRendersVlmR1sPrompt() {
    InternVlTemplate t = InternVlTemplate.named("internvl2_5");
    String p = t.render(Conversation.userTurn(1, "Where is the cat?"));
    assertEquals("<|im_start|>system\n你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的"
        + "多模态大语言模型。<|im_end|>\n<|im_start|>user\n<image>\nWhere is the cat?<|im_end|>\n"
        + "<|im_start|>assistant\n", p);
    Conversation withSystem = new Conversation(List.of(
        new Conversation.Message("system", List.of(new Conversation.Text("Be brief."))),
        new Conversation.Message("user", List.of(new Conversation.Image(), new Conversation.Image(),
            new Conversation.Text("Same?")))));
    assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n<image>\n<image>\nSame?<|im_end|>\n"
        + "<|im_start|>assistant\n", t.render(withSystem));
    assertEquals("<|im_end|>", t.eosToken());
    assertThrows(IllegalArgumentException.class, () -> InternVlTemplate.named("vicuna"));
  }

  static Path tiny(Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny-internvl");
    InternVlTiny.write(new InternVlTiny.Spec(32, 2, 4, 2, 64, 1, 32, 2, 56, 4, 3), ckpt);
    return ckpt;
  }

  @Test
  void prepareExpandsContextTokensAndPadsLeft(@TempDir Path dir) throws Exception {
    Path ckpt = tiny(dir);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    assertTrue(module instanceof InternVlModule);
    InternVlModule m = (InternVlModule) module;
    assertEquals(151667, m.ids().imgContext());
    assertArrayEquals(new long[] {151645}, m.eosTokenIds());
    assertEquals("<|im_end|>", m.eosText());
    assertEquals(151643, m.padTokenId());
    module.postModelInit(null); // no reference model: a no-op, not VLM-R1's crash
    RgbImage img = RgbImage.read(InternVlGolden.caseA().resolve(IMAGES[1]));
    int tiles = m.imageProcessor().numTiles(img);
    List<String> prompts = module.preparePrompt(List.of(Conversation.userTurn(1, "Where?"),
        Conversation.userTurn(0, "Hello there, how are you?")));
    try (PointerScope s = new PointerScope()) {
      ModelInputs in = module.prepareModelInputs(prompts, List.of(List.of(img), List.of()));
      Tensor pv = in.multimodal().get("pixel_values");
      Tensor flags = in.multimodal().get("image_flags");
      assertArrayEquals(new long[] {tiles + 1, 3, 56, 56}, pv.sizes().vec().get());
      long[] f = org.vlmr1.kernels.TensorChecks.longs(flags);
      assertEquals(tiles + 1, f.length);
      assertEquals(0, f[tiles], "the text-only row's dummy tile has flag 0");
      assertEquals(tiles, java.util.Arrays.stream(f).sum());
      // The image row: <img> + 4 * tiles <IMG_CONTEXT> + </img>, the same ids as tokenising the expanded string.
      long[] ids = org.vlmr1.kernels.TensorChecks.longs(in.inputIds());
      long[] mask = org.vlmr1.kernels.TensorChecks.longs(in.attentionMask());
      int l = (int) in.inputIds().size(1);
      String expanded = prompts.get(0).replace("<image>", "<img>" + "<IMG_CONTEXT>".repeat(4 * tiles) + "</img>");
      long[] whole = module.encode(expanded);
      long[] row0 = java.util.Arrays.copyOfRange(ids, l - whole.length, l);
      assertArrayEquals(whole, row0);
      long[] row1 = java.util.Arrays.copyOfRange(ids, l, 2 * l);
      long[] text = module.encode(prompts.get(1));
      assertArrayEquals(text, java.util.Arrays.copyOfRange(row1, l - text.length, l));
      for (int i = 0; i < l - text.length; i++) {
        assertEquals(151643, row1[i], "left padding");
        assertEquals(0, mask[l + i]);
      }
      // More images than placeholders is a clear error.
      assertThrows(IllegalArgumentException.class,
          () -> module.prepareModelInputs(List.of(prompts.get(1)), List.of(List.of(img))));
    }
  }

  @Test
  void mixedBatchGivesEachRowItsOwnResults(@TempDir Path dir) throws Exception {
    Path ckpt = tiny(dir);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS.withProcessing("max_anyres_num", 3));
    RgbImage img = RgbImage.read(InternVlGolden.caseA().resolve(IMAGES[2]));
    List<String> prompts = module.preparePrompt(List.of(Conversation.userTurn(1, "Where?"),
        Conversation.userTurn(0, "Say something longer than the other prompt, please.")));
    try (InternVlModel model = (InternVlModel) module.loadModel(ckpt); PointerScope s = new PointerScope()) {
      module.postModelInit(model);
      ModelInputs both = module.prepareModelInputs(prompts, List.of(List.of(img), List.of()));
      int l = (int) both.inputIds().size(1);
      Tensor batch = model.lastHidden(both.inputIds(), both.attentionMask(), both.multimodal());
      Generator.Result g = model.generateCompletions(both.inputIds(), both.attentionMask(),
          PassInputs.of("pixel_values", both.multimodal().get("pixel_values"), "image_flags",
              both.multimodal().get("image_flags")),
          SamplingConfig.greedy(5), module.eosTokenIds(), module.padTokenId(), 0, 0, false);
      for (int r = 0; r < 2; r++) {
        ModelInputs one = module.prepareModelInputs(List.of(prompts.get(r)),
            List.of(r == 0 ? List.of(img) : List.of()));
        int n = (int) one.inputIds().size(1);
        Tensor alone = model.lastHidden(one.inputIds(), one.attentionMask(), one.multimodal());
        double d = alone.select(0, 0).sub(batch.select(0, r).narrow(0, l - n, n)).abs().max().item_double();
        System.out.printf("row %d: batched vs alone max |diff| %.3g%n", r, d);
        assertTrue(d < 1e-4, "row " + r + " differs by " + d);
        Generator.Result ga = model.generateCompletions(one.inputIds(), one.attentionMask(),
            PassInputs.of("pixel_values", one.multimodal().get("pixel_values"), "image_flags",
                one.multimodal().get("image_flags")),
            SamplingConfig.greedy(5), module.eosTokenIds(), module.padTokenId(), 0, 0, false);
        assertArrayEquals(ga.ids()[0], g.ids()[r], "row " + r + " greedy ids");
      }
      // Features computed once (the frozen-vision path) give the same hidden states as running the tower.
      java.util.Map<String, Tensor> withEmbeds = new java.util.LinkedHashMap<>(both.multimodal());
      withEmbeds.put(org.vlmr1.model.VlmModel.IMAGE_EMBEDS, model.imageEmbeds(both.multimodal()));
      Tensor reused = model.lastHidden(both.inputIds(), both.attentionMask(), withEmbeds);
      assertEquals(0.0, reused.sub(batch).abs().max().item_double(), 0.0);
      Tensor tail = model.lastHidden(both.inputIds(), both.attentionMask(), both.multimodal(), l - 4);
      assertEquals(0.0, tail.sub(batch.narrow(1, l - 4, 4)).abs().max().item_double(), 0.0);
      // Cached greedy decoding = argmax of full forwards over the growing sequence.
      ModelInputs one = module.prepareModelInputs(List.of(prompts.get(0)), List.of(List.of(img)));
      Generator.Result ga = model.generateCompletions(one.inputIds(), one.attentionMask(),
          PassInputs.of("pixel_values", one.multimodal().get("pixel_values"), "image_flags",
              one.multimodal().get("image_flags")),
          SamplingConfig.greedy(4), new long[] {-1}, module.padTokenId(), 0, 0, false);
      Tensor ids = one.inputIds();
      for (int t = 0; t < 4; t++) {
        InternVlModel.Output o = model.forward(ids, null,
            PassInputs.of("pixel_values", one.multimodal().get("pixel_values"), "image_flags",
                one.multimodal().get("image_flags")), true);
        long next = o.logits().select(1, ids.size(1) - 1).argmax().item_long();
        assertEquals(next, ga.ids()[0][t], "step " + t);
        ids = torch.cat(new org.bytedeco.pytorch.TensorVector(ids, torch.tensor(new long[] {next}).reshape(1, 1)), 1);
      }
    }
  }

  @Test
  void recRewardsAndQuestionTemplateAreInternVls(@TempDir Path dir) throws Exception {
    VlmModule module = VlmModules.forCheckpoint(tiny(dir), null, ModuleOptions.DEFAULTS);
    assertEquals("{Question} First output the thinking process in <think> </think> tags and then output the final "
        + "answer in <answer> </answer> tags.", module.questionTemplate("rec"));
    assertEquals(List.of("vision_model"), module.visionModulesKeywords());
    assertEquals(List.of("pixel_values", "image_flags"), module.customMultimodalKeywords());
    // VLM-R1 withholds image_flags from generation; ours uses them (mixed text-only and image batches), so none are
    // withheld now that the trainer honours the hook (issue 13).
    assertEquals(List.of(), module.nonGenerateParams());
    assertTrue(module.isEmbedsInput());
    assertEquals(InternVlModel.class, module.modelClass());
    // No box rescale: the answer's box is compared as written (InternVL's annotation frame), and the format reward
    // takes a bare list (no JSON braces).
    org.vlmr1.reward.RewardFunction iou = module.selectRewardFunction("accuracy", "rec");
    org.vlmr1.reward.RewardFunction format = module.selectRewardFunction("format", "rec");
    org.vlmr1.reward.RewardSample s = new org.vlmr1.reward.RewardSample("0",
        "<think>left</think> <answer>[10, 20, 110, 220]</answer>", "<answer> [10, 20, 110, 220] </answer>", "q",
        List.of(), List.of(), null, java.util.Map.of());
    assertEquals(1.0, iou.score(s), 1e-12);
    assertEquals(1.0, format.score(s), 0.0);
  }

  @Test
  void badCheckpointsFailWithTheKeyNamed(@TempDir Path dir) throws Exception {
    Path ckpt = tiny(dir);
    // An extra tensor: named, not silently ignored.
    Path extra = dir.resolve("extra");
    java.nio.file.Files.createDirectories(extra);
    java.nio.file.Files.copy(ckpt.resolve("config.json"), extra.resolve("config.json"));
    SafeTensorsFile f = SafeTensorsFile.open(ckpt.resolve("model.safetensors"));
    try (PointerScope s = new PointerScope()) {
      java.util.Map<String, Tensor> w = new java.util.LinkedHashMap<>();
      for (String k : f.entries().keySet()) {
        w.put(k, org.vlmr1.model.Weights.tensor(f, k));
      }
      w.put("vision_model.encoder.layers.9.mystery", torch.zeros(3));
      org.vlmr1.model.SafeTensorsWriter.write(extra.resolve("model.safetensors"), w);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InternVlModel.load(extra));
      assertTrue(e.getMessage().contains("unexpected") && e.getMessage().contains("mystery"), e.getMessage());
      // A missing one: named too.
      w.remove("vision_model.encoder.layers.9.mystery");
      w.remove("mlp1.3.bias");
      org.vlmr1.model.SafeTensorsWriter.write(extra.resolve("model.safetensors"), w);
      e = assertThrows(IllegalArgumentException.class, () -> InternVlModel.load(extra));
      assertTrue(e.getMessage().contains("missing weight mlp1.3.bias"), e.getMessage());
    }
    // A config without vision_config.
    java.nio.file.Files.writeString(extra.resolve("config.json"), "{\"model_type\": \"internvl_chat\"}");
    java.io.IOException io = assertThrows(java.io.IOException.class, () -> InternVlModel.load(extra));
    assertTrue(io.getMessage().contains("vision_config"), io.getMessage());
  }

  @Test
  void saveAndReloadGiveIdenticalLogits(@TempDir Path dir) throws Exception {
    Path ckpt = tiny(dir);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    try (InternVlModel a = (InternVlModel) module.loadModel(ckpt); PointerScope s = new PointerScope()) {
      a.save(dir.resolve("saved"));
      try (InternVlModel b = InternVlModel.load(dir.resolve("saved"))) {
        Tensor ids = torch.tensor(new long[] {151644, 872, 198, 9707, 151645}).reshape(1, 5);
        Tensor la = a.forward(ids, null, PassInputs.of("pixel_values", null, "image_flags", null), true).logits();
        Tensor lb = b.forward(ids, null, PassInputs.of("pixel_values", null, "image_flags", null), true).logits();
        assertTrue(torch.equal(la, lb));
      }
    }
    assertTrue(java.nio.file.Files.exists(dir.resolve("saved/tokenizer.json")));
    assertTrue(java.nio.file.Files.exists(dir.resolve("saved/config.json")));
  }
}
