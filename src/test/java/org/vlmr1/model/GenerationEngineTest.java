// The generation engine (issue 15) against the path before it, on random tiny models: a prompt prefilled once and
// copied into its G rows, and finished rows leaving the batch, give the same tokens as prefilling every row and
// decoding every row to the end. The logits differ only by float noise from the changed batch shapes (checked within
// 1e-4); a token that differs must come from that noise: both runs' logits agree within the tolerance and each run's
// token is the reference sampler's choice on its own logits (a near-tie), and the row is compared no further.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
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
import org.vlmr1.module.internvl.InternVlTiny;
import org.vlmr1.module.qwen.QwenTiny;

class GenerationEngineTest {
  static final double LOGIT_TOLERANCE = 1e-4;

  /** Three prompts (two images of different sizes, one text-only) and the rows of each, interleaved. */
  record Case(List<String> prompts, List<List<RgbImage>> images, int[] rowPrompt) {
    List<String> rowPrompts() {
      List<String> out = new ArrayList<>();
      for (int p : rowPrompt) {
        out.add(prompts.get(p));
      }
      return out;
    }

    List<List<RgbImage>> rowImages() {
      List<List<RgbImage>> out = new ArrayList<>();
      for (int p : rowPrompt) {
        out.add(images.get(p));
      }
      return out;
    }
  }

  static Case threePrompts(VlmModule module, Random rnd) {
    List<String> prompts = module.preparePrompt(List.of(Conversation.userTurn(1, "Where is the red thing?"),
        Conversation.userTurn(0, "Count to three, slowly, please."), Conversation.userTurn(1, "And the blue one?")));
    List<List<RgbImage>> images = List.of(List.of(image(rnd, 64, 48)), List.of(), List.of(image(rnd, 40, 56)));
    return new Case(prompts, images, new int[] {0, 1, 0, 2, 2, 1, 0, 2, 1});
  }

  static RgbImage image(Random rnd, int w, int h) {
    byte[] px = new byte[w * h * 3];
    rnd.nextBytes(px);
    return new RgbImage(w, h, px);
  }

  static VlmModule qwen(Path dir, int heads, int kvHeads, Random rnd) throws Exception {
    QwenTiny.write(new QwenTiny.Spec(64, 2, heads, kvHeads, 128, 2, 32, 2, rnd.nextLong()), dir);
    return VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 20000L));
  }

  @ParameterizedTest
  @CsvSource({"4, 4", "4, 2"})
  void sharedPrefillEqualsPerRowPrefillQwen(int heads, int kvHeads, @TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("GenerationEngineTest qwen seed " + seed + " heads " + heads + " kv " + kvHeads);
    Random rnd = new Random(seed);
    sharedEqualsPerRow(qwen(dir, heads, kvHeads, rnd), dir, rnd);
  }

  @Test
  void sharedPrefillEqualsPerRowPrefillInternVl(@TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("GenerationEngineTest internvl seed " + seed);
    Random rnd = new Random(seed);
    InternVlTiny.write(new InternVlTiny.Spec(32, 2, 4, 2, 64, 1, 32, 2, 56, 2, rnd.nextLong()), dir);
    sharedEqualsPerRow(VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS), dir, rnd);
  }

  /** The engine on the distinct prompts against the old path (per-row prompts, growing cache, Java sampler). */
  private static void sharedEqualsPerRow(VlmModule module, Path dir, Random rnd) throws Exception {
    Case c = threePrompts(module, rnd);
    SamplingConfig sampling = new SamplingConfig(false, 1.0, 20, 1.0, rnd.nextLong(), 10);
    try (DecoderVlModel model = (DecoderVlModel) module.loadModel(dir); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      module.postModelInit(model); // InternVL learns its <IMG_CONTEXT> id here
      ModelInputs perRow = module.prepareModelInputs(c.rowPrompts(), c.rowImages());
      ModelInputs shared = module.prepareModelInputs(c.prompts(), c.images());
      Generator.Result old;
      try (KvCache growing = model.newCache()) {
        old = model.generateCompletions(perRow.inputIds(), perRow.attentionMask(), perRow.multimodal(), sampling,
            module.eosTokenIds(), module.padTokenId(), 2, 11, true, Generator.identity(c.rowPrompt().length),
            GenerationOptions.OLD_PATH, growing);
      }
      Generator.Result engine = model.generateCompletions(shared.inputIds(), shared.attentionMask(),
          shared.multimodal(), sampling, module.eosTokenIds(), module.padTokenId(), 2, 11, true, c.rowPrompt(),
          GenerationOptions.DEFAULT, null);
      assertSameTokens(old, engine, sampling, 2, 11);
      // The model's generate (the trainer's call) gives the rows in the same order, sliced as the family slices.
      VlmModel.Generation g = model.generate(shared.inputIds(), shared.attentionMask(), shared.multimodal(), sampling,
          module.eosTokenIds(), module.padTokenId(), 2, 11, c.rowPrompt(), GenerationOptions.DEFAULT);
      VlmModel.Generation comp = module.completions(g, (int) shared.inputIds().size(1));
      assertEquals(c.rowPrompt().length, comp.ids().length);
      for (int r = 0; r < comp.ids().length; r++) {
        assertArrayEquals(engine.ids()[r], comp.ids()[r], "row " + r + " through generate");
      }
    }
  }

  /**
   * EOS forced at chosen lengths (a logit bias; the same in both runs) so rows finish at different steps: with
   * compaction the finished rows leave the batch and the tokens stay the same as decoding every row to the end.
   */
  @Test
  void finishedRowsLeaveTheBatchWithTheSameTokens(@TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("GenerationEngineTest compaction seed " + seed);
    Random rnd = new Random(seed);
    VlmModule module = qwen(dir, 4, 2, rnd);
    Case c = threePrompts(module, rnd);
    int n = 14;
    int[] lengths = forcedLengths(rnd, c.rowPrompt().length, 1, n); // every row finishes before the limit
    lengths[4] = n; // and one runs to the limit (its EOS is the last token)
    long eos = module.eosTokenIds()[0];
    SamplingConfig sampling = new SamplingConfig(false, 1.0, 20, 1.0, rnd.nextLong(), n);
    GenerationOptions none = GenerationOptions.DEFAULT.withCompactFinished(false).withLogitBias(forceEos(lengths,
        eos));
    try (DecoderVlModel model = (DecoderVlModel) module.loadModel(dir); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      ModelInputs shared = module.prepareModelInputs(c.prompts(), c.images());
      Generator.Result full = model.generateCompletions(shared.inputIds(), shared.attentionMask(),
          shared.multimodal(), sampling, module.eosTokenIds(), module.padTokenId(), 0, 3, true, c.rowPrompt(), none,
          null);
      Generator.Result compacted = model.generateCompletions(shared.inputIds(), shared.attentionMask(),
          shared.multimodal(), sampling, module.eosTokenIds(), module.padTokenId(), 0, 3, true, c.rowPrompt(),
          none.withCompactFinished(true), null);
      assertEquals(0, full.compactions());
      assertTrue(compacted.compactions() > 0, "rows finished at different steps but never left the batch");
      assertSameTokens(full, compacted, sampling, 0, 3);
      for (int r = 0; r < lengths.length; r++) {
        long kept = 0;
        for (long m : compacted.mask()[r]) {
          kept += m;
        }
        assertEquals(lengths[r], kept, "row " + r + ": the completion mask runs through the forced EOS");
        assertEquals(eos, compacted.ids()[r][lengths[r] - 1], "row " + r + " ends with EOS");
        for (int t = lengths[r]; t < n; t++) {
          assertEquals(module.padTokenId(), compacted.ids()[r][t], "row " + r + " is padded after its EOS");
        }
      }
      // A row that left the batch has no logits in the steps after it left.
      int shortest = 0;
      for (int r = 1; r < lengths.length; r++) {
        shortest = lengths[r] < lengths[shortest] ? r : shortest;
      }
      assertNotNull(compacted.stepLogits().get(lengths[shortest] - 1)[shortest]);
      assertNull(compacted.stepLogits().get(compacted.stepLogits().size() - 1)[shortest],
          "row " + shortest + " (length " + lengths[shortest] + ") was still decoded at the last step");
    }
  }

  /**
   * The pruned head (bf16 approximate logits, exact ones for the candidates only) picks exactly the tokens of the full
   * head, sampling with top-k and greedy, with a logit bias that declares the column it overwrites (EOS forced, so
   * rows finish and compaction runs), and its steps did take the pruned path. The old code had no pruned head: every
   * step computed every logit (and PrunedHead did not exist).
   */
  @Test
  void prunedHeadPicksTheFullHeadsTokens(@TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("GenerationEngineTest pruned head seed " + seed);
    Random rnd = new Random(seed);
    VlmModule module = qwen(dir, 4, 2, rnd);
    Case c = threePrompts(module, rnd);
    int n = 12;
    int[] lengths = forcedLengths(rnd, c.rowPrompt().length, 2, n);
    long eos = module.eosTokenIds()[0];
    GenerationOptions.LogitBias force = forceEosColumn(lengths, eos);
    try (DecoderVlModel model = (DecoderVlModel) module.loadModel(dir); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      ModelInputs shared = module.prepareModelInputs(c.prompts(), c.images());
      for (SamplingConfig sampling : List.of(new SamplingConfig(false, 1.0, 20, 1.0, rnd.nextLong(), n),
          new SamplingConfig(false, 0.8, 5, 0.9, rnd.nextLong(), n), new SamplingConfig(true, 1.0, 0, 1.0, 0, n))) {
        long before = org.vlmr1.kernels.PrunedHead.prunedSteps();
        GenerationOptions pruned = GenerationOptions.DEFAULT.withLogitBias(force).withPruneHead(true);
        Generator.Result a = model.generateCompletions(shared.inputIds(), shared.attentionMask(),
            shared.multimodal(), sampling, module.eosTokenIds(), module.padTokenId(), 1, 5, false, c.rowPrompt(),
            pruned, null);
        assertTrue(org.vlmr1.kernels.PrunedHead.prunedSteps() > before, "no step took the pruned head");
        long after = org.vlmr1.kernels.PrunedHead.prunedSteps();
        Generator.Result b = model.generateCompletions(shared.inputIds(), shared.attentionMask(),
            shared.multimodal(), sampling, module.eosTokenIds(), module.padTokenId(), 1, 5, false, c.rowPrompt(),
            pruned.withPruneHead(false), null);
        assertEquals(after, org.vlmr1.kernels.PrunedHead.prunedSteps(), "pruneHead false still pruned");
        assertTrue(a.compactions() > 0, "rows finished at different steps but never left the batch");
        for (int r = 0; r < lengths.length; r++) {
          assertArrayEquals(b.ids()[r], a.ids()[r], sampling + " row " + r);
          assertArrayEquals(b.mask()[r], a.mask()[r], sampling + " row " + r);
        }
      }
    }
  }

  /** Forces EOS at position lengths[row] - 1 and forbids it before by overwriting its column only (declared). */
  static GenerationOptions.LogitBias forceEosColumn(int[] lengths, long eos) {
    return new GenerationOptions.LogitBias() {
      @Override
      public Tensor apply(Tensor logits, int[] rows, int t) {
        Tensor out = logits.clone();                                                        // (B', V)
        for (int i = 0; i < rows.length; i++) {
          out.select(0, i).narrow(0, eos, 1).fill_(new Scalar(t == lengths[rows[i]] - 1 ? 1e4 : -1e4));
        }
        return out;
      }

      @Override
      public long[] overwrittenIds() {
        return new long[] {eos};
      }
    };
  }

  /**
   * Every decode step's logits (grouped-query attention reading the cache where it lies: 2 query heads per KV head)
   * equal a full forward over prompt + generated tokens at the last position, on a left-padded image + text batch.
   */
  @Test
  void decodeStepsEqualFullForwards(@TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("GenerationEngineTest decode seed " + seed);
    Random rnd = new Random(seed);
    VlmModule module = qwen(dir, 4, 2, rnd);
    Case c = threePrompts(module, rnd);
    int n = 6;
    SamplingConfig sampling = new SamplingConfig(false, 1.0, 20, 1.0, rnd.nextLong(), n);
    try (DecoderVlModel model = (DecoderVlModel) module.loadModel(dir); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      ModelInputs in = module.prepareModelInputs(c.prompts(), c.images());
      Generator.Result g = model.generateCompletions(in.inputIds(), in.attentionMask(), in.multimodal(), sampling,
          new long[] {-1}, module.padTokenId(), 0, 0, true);
      long b = in.inputIds().size(0);
      long l = in.inputIds().size(1);
      long[][] generated = g.ids();
      for (int t = 1; t < n; t++) {
        long[] cols = new long[(int) b * t];
        for (int r = 0; r < b; r++) {
          System.arraycopy(generated[r], 0, cols, r * t, t);
        }
        Tensor ids = org.bytedeco.pytorch.global.torch.cat(new org.bytedeco.pytorch.TensorVector(in.inputIds(),
            org.bytedeco.pytorch.global.torch.tensor(cols).reshape(b, t)), 1);                  // (B, L + t)
        Tensor mask = org.bytedeco.pytorch.global.torch.cat(new org.bytedeco.pytorch.TensorVector(
            in.attentionMask(), org.bytedeco.pytorch.global.torch.ones_like(ids.narrow(1, l, t))), 1);
        Tensor last = model.forward(ids, mask, in.multimodal(), true, null, (int) l - 1).logits()
            .select(1, t);                                                                     // (B, V)
        float[][] full = Generator.rows(last);
        for (int r = 0; r < b; r++) {
          assertArrayEquals(full[r], g.stepLogits().get(t)[r], (float) LOGIT_TOLERANCE, "row " + r + " step " + t);
        }
      }
    }
  }

  @Test
  void rowPromptsOutsideThePromptsAreRefused(@TempDir Path dir) throws Exception {
    Random rnd = new Random(1);
    VlmModule module = qwen(dir, 4, 2, rnd);
    try (DecoderVlModel model = (DecoderVlModel) module.loadModel(dir); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      ModelInputs one = module.prepareModelInputs(module.preparePrompt(List.of(Conversation.userTurn(0, "Hi."))),
          List.of(List.of()));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.generateCompletions(
          one.inputIds(), one.attentionMask(), one.multimodal(), SamplingConfig.greedy(2), module.eosTokenIds(),
          module.padTokenId(), 0, 0, false, new int[] {0, 1}, GenerationOptions.DEFAULT, null));
      assertTrue(e.getMessage().contains("prompt index 1 is not one of the 1 prompts"), e.getMessage());
    }
  }

  /** Random completion lengths in [min, n - 1], one per row, for a bias that forces EOS at them. */
  static int[] forcedLengths(Random rnd, int rows, int min, int n) {
    int[] lengths = new int[rows];
    for (int r = 0; r < rows; r++) {
      lengths[r] = min + rnd.nextInt(n - min);
    }
    return lengths;
  }

  /** Forces EOS at position lengths[row] - 1 and forbids it before (so random draws never end a row early). */
  static GenerationOptions.LogitBias forceEos(int[] lengths, long eos) {
    return (logits, rows, t) -> {
      Tensor out = logits.clone();                                                          // (B', V)
      for (int i = 0; i < rows.length; i++) {
        Tensor row = out.select(0, i);                                                       // (V)
        if (t == lengths[rows[i]] - 1) {
          row.fill_(new Scalar(-1e4));
          row.narrow(0, eos, 1).fill_(new Scalar(0.0));
        } else {
          row.narrow(0, eos, 1).fill_(new Scalar(-1e4));
        }
      }
      return out;
    };
  }

  /** Same ids and masks, logits within the tolerance; a differing token only as a near-tie (class comment). */
  static void assertSameTokens(Generator.Result a, Generator.Result b, SamplingConfig sampling, long step,
      long firstSample) {
    assertEquals(a.ids().length, b.ids().length);
    for (int r = 0; r < a.ids().length; r++) {
      for (int t = 0; t < a.ids()[r].length; t++) {
        float[] la = t < a.stepLogits().size() ? a.stepLogits().get(t)[r] : null;
        float[] lb = t < b.stepLogits().size() ? b.stepLogits().get(t)[r] : null;
        if (la != null && lb != null) {
          assertArrayEquals(la, lb, (float) LOGIT_TOLERANCE, "row " + r + " step " + t + " logits");
        }
        if (a.ids()[r][t] != b.ids()[r][t]) {
          assertNotNull(la, "row " + r + " step " + t + ": different tokens without logits");
          assertEquals(a.ids()[r][t], TokenSampler.next(la, sampling, step, firstSample + r, t));
          assertEquals(b.ids()[r][t], TokenSampler.next(lb, sampling, step, firstSample + r, t));
          System.out.println("near-tie: row " + r + " step " + t + " ids " + a.ids()[r][t] + " vs " + b.ids()[r][t]);
          break;
        }
        assertEquals(a.mask()[r][t], b.mask()[r][t], "row " + r + " step " + t + " mask");
      }
    }
  }
}
