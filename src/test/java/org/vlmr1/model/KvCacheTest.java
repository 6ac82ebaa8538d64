// The preallocated KV cache (issue 15): its views hold exactly what growing by cat held, its buffers are allocated
// once and written in place, and generation through it equals generation through the growing cache on random tiny
// models with left-padded batches (ids and every step's logits bit-identical).
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vlmr1.data.RgbImage;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;

class KvCacheTest {

  @Test
  void appendsInPlaceAndViewsEqualTheConcatenation() {
    long seed = new Random().nextLong();
    System.out.println("KvCacheTest seed " + seed);
    torch.manual_seed(seed);
    int layers = 2;
    long prompt = 7;
    long steps = 9;
    try (KvCache grown = new KvCache(layers); KvCache pre = new KvCache(layers, prompt + steps);
        PointerScope s = new PointerScope()) {
      long[] ptr = new long[layers];
      for (int t = 0; t <= steps; t++) {
        long n = t == 0 ? prompt : 1;
        for (int layer = 0; layer < layers; layer++) {
          Tensor k = torch.randn(3, 2, n, 8);                                                   // (B, kv, n, hd)
          Tensor v = torch.randn(3, 2, n, 8);
          Tensor[] a = grown.append(layer, k, v);
          Tensor[] b = pre.append(layer, k, v);
          assertTrue(torch.equal(a[0], b[0]) && torch.equal(a[1], b[1]), "layer " + layer + " step " + t);
          assertEquals(prompt + t, b[0].size(2));
          long p = pre.keyStorage(layer).data_ptr().address();
          if (t == 0) {
            ptr[layer] = p;
          }
          assertEquals(ptr[layer], p, "the key buffer moved at step " + t);
          assertEquals(prompt + steps, pre.keyStorage(layer).size(2));
        }
        assertEquals(prompt + t, pre.length());
        assertEquals(grown.length(), pre.length());
      }
      assertEquals(0, pre.reallocations());
      // Past the capacity it still appends correctly, reallocating once.
      for (int layer = 0; layer < layers; layer++) {
        Tensor k = torch.randn(3, 2, 1, 8);
        Tensor[] a = grown.append(layer, k, k);
        Tensor[] b = pre.append(layer, k, k);
        assertTrue(torch.equal(a[0], b[0]) && torch.equal(a[1], b[1]), "past the capacity, layer " + layer);
      }
      assertEquals(2, pre.reallocations(), "one reallocation per layer");
    }
  }

  @Test
  void neverReleasesTheCallersTensors() {
    Tensor k = torch.randn(1, 1, 3, 8); // outside any PointerScope: only the caller holds it
    for (long capacity : new long[] {0, 4}) {
      try (KvCache c = new KvCache(1, capacity)) {
        c.append(0, k, k); // K and V one object, as a caller may pass
        c.append(0, k.narrow(2, 0, 1), k.narrow(2, 0, 1));
      }
      assertEquals(3, k.size(2), "the caller's tensor is still alive after the cache (capacity " + capacity + ")");
    }
    k.close();
  }

  /**
   * Preallocated vs growing cache on a random tiny Qwen2.5-VL: a left-padded batch mixing an image prompt and text
   * prompts, sampled (temperature, top-k) so every step's full logits matter. kvHeads = heads runs SDPA on the
   * strided views directly; kvHeads < heads goes through the GQA repeat.
   */
  @ParameterizedTest
  @CsvSource({"4, 4", "4, 2"})
  void generationEqualsTheGrowingCache(int heads, int kvHeads, @TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("KvCacheTest generation seed " + seed + " heads " + heads + " kv " + kvHeads);
    Random rnd = new Random(seed);
    QwenTiny.write(new QwenTiny.Spec(64, 2, heads, kvHeads, 128, 2, 32, 2, rnd.nextLong()), dir);
    VlmModule module = VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 20000L));
    byte[] px = new byte[64 * 48 * 3];
    rnd.nextBytes(px);
    List<String> prompts = module.preparePrompt(List.of(Conversation.userTurn(1, "Where is the red thing?"),
        Conversation.userTurn(0, "Say hi."), Conversation.userTurn(0, "Count to three, slowly, please.")));
    List<List<RgbImage>> images = new ArrayList<>();
    images.add(List.of(new RgbImage(64, 48, px)));
    images.add(List.of());
    images.add(List.of());
    SamplingConfig sampling = new SamplingConfig(false, 1.0, 20, 1.0, rnd.nextLong(), 12);
    try (QwenVlModel model = QwenVlModel.load(dir); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      ModelInputs batch = module.prepareModelInputs(prompts, images);
      long l = batch.inputIds().size(1);
      assertTrue(torch.equal(batch.attentionMask().select(0, 1).narrow(0, 0, 1),
          torch.zeros(1).to(batch.attentionMask().scalar_type())), "the short text row is left-padded");
      Generator.Result grown;
      try (KvCache c = model.newCache()) {
        grown = model.generateCompletions(batch.inputIds(), batch.attentionMask(), batch.multimodal(), sampling,
            new long[] {-1}, module.padTokenId(), 3, 5, true, c);
        assertEquals(0, c.capacity());
      }
      Generator.Result pre;
      try (KvCache c = model.newCache(l + sampling.maxNewTokens())) {
        pre = model.generateCompletions(batch.inputIds(), batch.attentionMask(), batch.multimodal(), sampling,
            new long[] {-1}, module.padTokenId(), 3, 5, true, c);
        assertEquals(0, c.reallocations(), "the capacity prompt + max new tokens is never exceeded");
        assertEquals(l + sampling.maxNewTokens() - 1, c.length(), "the last token is sampled, never cached");
        for (int layer = 0; layer < 2; layer++) {
          assertEquals(l + sampling.maxNewTokens(), c.keyStorage(layer).size(2));
        }
      }
      // The default path (the cache sized inside) is the preallocated one.
      Generator.Result dflt = model.generateCompletions(batch.inputIds(), batch.attentionMask(), batch.multimodal(),
          sampling, new long[] {-1}, module.padTokenId(), 3, 5, true);
      for (int r = 0; r < 3; r++) {
        assertArrayEquals(grown.ids()[r], pre.ids()[r], "row " + r + " ids");
        assertArrayEquals(grown.mask()[r], pre.mask()[r], "row " + r + " mask");
        assertArrayEquals(pre.ids()[r], dflt.ids()[r], "row " + r + " ids, default path");
      }
      assertEquals(grown.stepLogits().size(), pre.stepLogits().size());
      for (int t = 0; t < grown.stepLogits().size(); t++) {
        for (int r = 0; r < 3; r++) {
          // tolerance 0: the views hold the same values, and attention reads them in the same order
          assertArrayEquals(grown.stepLogits().get(t)[r], pre.stepLogits().get(t)[r], 0f,
              "step " + t + " row " + r + " logits");
        }
      }
    }
  }
}
