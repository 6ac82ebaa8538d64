// A tiny random checkpoint end to end: written in the Hugging Face layout, found by the registry, tokenised with its
// own tokenizer files, and self-consistent: a mixed left-padded batch equals its rows run alone, and cached greedy
// decoding equals the argmax of full forwards without a cache.
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.model.PassInputs;

class QwenTinyTest {

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"qwen2_5_vl", "qwen2_vl"})
  void tinyCheckpointIsConsistent(String family, @TempDir Path dir) throws Exception {
    QwenTiny.write(new QwenTiny.Spec(64, 2, 4, 2, 128, 2, 32, 2, 3), dir, family);
    for (String f : new String[] {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
        "tokenizer_config.json"}) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f);
    }
    VlmModule module = VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 20000L));
    assertArrayEquals(new long[] {151645, 151643}, module.eosTokenIds());
    assertEquals("<|im_end|>", module.eosText(), "what an SFT target ends with");
    RgbImage img = RgbImage.read(QwenImageProcessorTest.caseA().resolve("image_1_300x200.png"));
    List<String> prompts = module.preparePrompt(List.of(Conversation.userTurn(1, "Where is the cat?"),
        Conversation.userTurn(0, "Say hi.")));
    try (QwenVlModel model = QwenVlModel.load(dir); PointerScope s = new PointerScope()) {
      ModelInputs batch = module.prepareModelInputs(prompts, List.of(List.of(img), List.of()));
      QwenVlModel.Output both = model.forward(batch.inputIds(), batch.attentionMask(), batch.multimodal(), true);
      assertEquals(151936, both.logits().size(2));
      assertTrue(torch.isfinite(both.logits()).all().item_bool());
      long l = batch.inputIds().size(1);
      for (int row = 0; row < 2; row++) {
        ModelInputs one = module.prepareModelInputs(List.of(prompts.get(row)),
            List.of(row == 0 ? List.of(img) : List.of()));
        QwenVlModel.Output alone = model.forward(one.inputIds(), one.attentionMask(), one.multimodal(), true);
        long n = one.inputIds().size(1);
        Tensor batched = both.logits().select(0, row).narrow(0, l - n, n);
        double d = batched.sub(alone.logits().select(0, 0)).abs().max().item_double();
        assertTrue(d < 1e-4, "row " + row + ": batched vs alone max |diff| " + d);
      }
      // Features computed once (the frozen-vision path) give the same hidden states as running the tower.
      java.util.Map<String, Tensor> mm = new java.util.LinkedHashMap<>(batch.multimodal());
      mm.put(org.vlmr1.model.VlmModel.IMAGE_EMBEDS, model.imageEmbeds(batch.multimodal()));
      Tensor reused = model.lastHidden(batch.inputIds(), batch.attentionMask(), mm);
      Tensor direct = model.lastHidden(batch.inputIds(), batch.attentionMask(), batch.multimodal());
      assertEquals(0.0, reused.sub(direct).abs().max().item_double(), 0.0);
      // Only the positions asked for: the same rows as the full pass.
      int from = (int) direct.size(1) - 5;
      Tensor tail = model.lastHidden(batch.inputIds(), batch.attentionMask(), batch.multimodal(), from);
      assertEquals(5, tail.size(1));
      assertEquals(0.0, tail.sub(direct.narrow(1, from, 5)).abs().max().item_double(), 0.0);
      // Cached greedy decoding = argmax of full forwards over prompt + generated tokens (no cache).
      ModelInputs one = module.prepareModelInputs(List.of(prompts.get(0)), List.of(List.of(img)));
      org.vlmr1.model.Generator.Result g = model.generateCompletions(one.inputIds(), one.attentionMask(),
          one.multimodal(), SamplingConfig.greedy(5), new long[] {-1}, module.padTokenId(), 0, 0, false);
      Tensor ids = one.inputIds();
      for (int t = 0; t < 5; t++) {
        QwenVlModel.Output full = model.forward(ids, null, one.multimodal(), true);
        long next = torch.argmax(full.logits().select(1, ids.size(1) - 1).select(0, 0)).item_long();
        assertEquals(next, g.ids()[0][t], "step " + t);
        ids = torch.cat(new org.bytedeco.pytorch.TensorVector(ids, torch.tensor(new long[] {next}).reshape(1, 1)), 1);
      }
    }
  }

  @Test
  void saveReloadsIdenticallyAndBf16RunsClose(@TempDir Path dir) throws Exception {
    Path src = dir.resolve("tiny");
    QwenTiny.write(new QwenTiny.Spec(64, 2, 4, 2, 128, 2, 32, 2, 9), src);
    Path saved = dir.resolve("saved");
    Tensor ids = torch.randint(1000, new long[] {2, 12}, new org.bytedeco.pytorch.TensorOptions(
        org.bytedeco.pytorch.global.torch.ScalarType.Long));
    try (QwenVlModel m = QwenVlModel.load(src); PointerScope s = new PointerScope()) {
      m.save(saved);
      Tensor before = m.forward(ids, null, PassInputs.of(), true).logits();
      try (QwenVlModel again = QwenVlModel.load(saved)) {
        assertTrue(torch.equal(before, again.forward(ids, null, PassInputs.of(),
            true).logits()),
            "identical logits after save + load");
      }
      assertTrue(Files.isRegularFile(saved.resolve("tokenizer.json")) && Files.isRegularFile(saved.resolve(
          "config.json")));
      m.castTo(org.bytedeco.pytorch.global.torch.ScalarType.BFloat16);
      Tensor bf = m.forward(ids, null, PassInputs.of(), true).logits().to(
          org.bytedeco.pytorch.global.torch.ScalarType.Float);
      double d = bf.sub(before).abs().max().item_double();
      double scale = before.abs().max().item_double();
      assertTrue(d <= 0.05 * scale + 1e-3, "bf16 vs f32 logits max |diff| " + d + " (scale " + scale + ")");
    }
    // Sharded saving: a tiny shard limit forces several files and an index that loads back.
    Path sharded = dir.resolve("sharded");
    try (QwenVlModel m = QwenVlModel.load(src); PointerScope s = new PointerScope()) {
      org.vlmr1.model.Weights w = org.vlmr1.model.Weights.load(src, k -> k);
      org.vlmr1.model.Checkpoints.save(w.asMap(), src, sharded, 4_000_000);
      assertTrue(Files.isRegularFile(sharded.resolve("model.safetensors.index.json")));
      try (QwenVlModel again = QwenVlModel.load(sharded)) {
        assertTrue(torch.equal(m.forward(ids, null, PassInputs.of(), true).logits(),
            again.forward(ids, null, PassInputs.of(), true).logits()));
      }
      w.close();
    }
  }
}
