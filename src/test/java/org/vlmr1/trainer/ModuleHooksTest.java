// The contract's hooks decide what the trainer does (issue 13), shown on the third family (the toy family of the test
// sources): for each hook, a variant of the family that changes the hook's answer changes the trainer's result
// accordingly. Before, the trainer passed prepareModelInputs' whole map to every pass and to generation, loaded
// models without modelClass, and never asked isEmbedsInput, so these hooks changed nothing.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.Example;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.ProcessingKeyword;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.reward.RewardFunction;
import org.vlmr1.util.Json;

class ModuleHooksTest {
  /** A family that is another one except for the hooks under test. */
  record Variant(VlmModule d, List<String> multimodalKeywords, List<String> nonGenerate,
      Class<? extends VlmModel> model, boolean embedsInput) implements VlmModule {
    /** The family itself, every hook answered as it answers. */
    static Variant of(VlmModule d) {
      return new Variant(d, d.customMultimodalKeywords(), d.nonGenerateParams(), d.modelClass(), d.isEmbedsInput());
    }

    Variant multimodal(List<String> keywords) {
      return new Variant(d, keywords, nonGenerate, model, embedsInput);
    }

    Variant nonGenerate(List<String> names) {
      return new Variant(d, multimodalKeywords, names, model, embedsInput);
    }

    Variant model(Class<? extends VlmModel> c) {
      return new Variant(d, multimodalKeywords, nonGenerate, c, embedsInput);
    }

    Variant embedsInput(boolean e) {
      return new Variant(d, multimodalKeywords, nonGenerate, model, e);
    }

    @Override public String vlmKey() { return d.vlmKey(); }
    @Override public Class<? extends VlmModel> modelClass() { return model; }
    @Override public void postModelInit(VlmModel m) { d.postModelInit(m); }
    @Override public List<String> visionModulesKeywords() { return d.visionModulesKeywords(); }
    @Override public List<String> customMultimodalKeywords() { return multimodalKeywords; }
    @Override public List<String> nonGenerateParams() { return nonGenerate; }
    @Override public List<ProcessingKeyword> customProcessingKeywords() { return d.customProcessingKeywords(); }
    @Override public boolean isEmbedsInput() { return embedsInput; }
    @Override public String questionTemplate(String t) { return d.questionTemplate(t); }
    @Override public List<String> preparePrompt(List<Conversation> c) { return d.preparePrompt(c); }
    @Override public ModelInputs prepareModelInputs(List<String> p, List<List<RgbImage>> i) {
      return d.prepareModelInputs(p, i);
    }
    @Override public long[] encode(String text) { return d.encode(text); }
    @Override public List<String> decodeCompletions(long[][] ids, long[][] mask) {
      return d.decodeCompletions(ids, mask);
    }
    @Override public long[] eosTokenIds() { return d.eosTokenIds(); }
    @Override public String eosText() { return d.eosText(); }
    @Override public long padTokenId() { return d.padTokenId(); }
    @Override public RewardFunction selectRewardFunction(String f, String t) { return d.selectRewardFunction(f, t); }
  }

  /** A model class whose load(Path) says it was called: what loadModel instantiates is modelClass. */
  abstract static class MarkerModel implements VlmModel {
    public static MarkerModel load(Path checkpoint) {
      throw new UnsupportedOperationException("MarkerModel.load(" + checkpoint.getFileName() + ")");
    }
  }

  /** A toy checkpoint (the third family, registered through ServiceLoader in the test sources). */
  private static Path toy(Path dir) throws Exception {
    Path ckpt = dir.resolve("toy");
    org.vlmr1.cli.ThirdFamilyTestAccess.writeToy(ckpt, 1);
    return ckpt;
  }

  /** One step's completions (texts, in order) and gradient norm (the loss value is the same at ratio 1). */
  record Outcome(List<String> completions, double gradNorm) {}

  private static Outcome step(VlmModule module, Path ckpt, List<Example> data, Path dir) throws Exception {
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(4).perDeviceTrainBatchSize(8).maxCompletionLength(6)
        .maxSteps(1).learningRate(1e-3).beta(0).temperature(1.0).seed(11).outputDir(dir).build();
    Files.createDirectories(dir);
    try (VlmModel policy = module.loadModel(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(InternVlTrainerTest.LENGTH), data, "rec")) {
      t.logCompletions(new CompletionLog(dir.resolve("completions.jsonl")));
      double gradNorm = t.step().gradNorm();
      List<String> texts = Files.readAllLines(dir.resolve("completions.jsonl")).stream()
          .map(l -> (String) ((Map<?, ?>) Json.parse(l)).get("completion")).toList();
      return new Outcome(texts, gradNorm);
    }
  }

  @Test
  void loadModelInstantiatesTheModelClass(@TempDir Path dir) throws Exception {
    Path ckpt = toy(dir);
    VlmModule family = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    assertEquals("toy", family.vlmKey());
    try (VlmModel m = family.loadModel(ckpt)) {
      assertEquals(family.modelClass(), m.getClass());
    }
    UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
        () -> Variant.of(family).model(MarkerModel.class).loadModel(ckpt));
    assertEquals("MarkerModel.load(toy)", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Variant.of(family).model(VlmModel.class).loadModel(ckpt));
  }

  @Test
  void multimodalKeywordsAndNonGenerateParamsDriveTheTrainer(@TempDir Path dir) throws Exception {
    Path ckpt = toy(dir);
    VlmModule family = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    List<Example> data = GrpoTrainerTest.boxes(dir, 4);
    Outcome full = step(family, ckpt, data, dir.resolve("full"));
    Outcome same = step(Variant.of(family), ckpt, data, dir.resolve("same"));
    assertEquals(full, same, "the same hooks give the same step");
    // No pixel_values kept: every pass, generation included, runs without image features.
    Outcome noPixels = step(Variant.of(family).multimodal(List.of()), ckpt, data, dir.resolve("none"));
    assertNotEquals(full.completions(), noPixels.completions(), "generation saw the images before");
    // pixel_values withheld from generation only: the completions of the image-less generation, trained with images.
    Outcome noGenPixels = step(Variant.of(family).nonGenerate(List.of("pixel_values")), ckpt, data,
        dir.resolve("nogen"));
    assertEquals(noPixels.completions(), noGenPixels.completions(), "generation without pixel_values");
    assertNotEquals(noPixels.gradNorm(), noGenPixels.gradNorm(), "the loss forward still took the images");
  }

  /** The family's own processing keyword (toy_image_side) reaches its processor through the trainer's module. */
  @Test
  void processingKeywordsReachTheProcessor(@TempDir Path dir) throws Exception {
    Path ckpt = toy(dir);
    List<Example> data = GrpoTrainerTest.boxes(dir, 4);
    VlmModule side16 = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    VlmModule side24 = VlmModules.forCheckpoint(ckpt, null,
        ModuleOptions.DEFAULTS.withProcessing("toy_image_side", 24L));
    Outcome a = step(side16, ckpt, data, dir.resolve("16"));
    Outcome b = step(side24, ckpt, data, dir.resolve("24"));
    assertNotEquals(a, b, "9 image tokens per image instead of 4 change generation and loss");
    assertEquals(a, step(VlmModules.forCheckpoint(ckpt, null,
        ModuleOptions.DEFAULTS.withProcessing("toy_image_side", 16L)), ckpt, data, dir.resolve("16b")),
        "16 is the family's default");
    // A keyword the family does not declare is refused, not ignored.
    assertThrows(IllegalArgumentException.class, () -> VlmModules.forCheckpoint(ckpt, null,
        ModuleOptions.DEFAULTS.withProcessing("max_anyres_num", 3)));
  }

  /**
   * isEmbedsInput tells the trainer what the family's generate returns. The toy family generates from ids (prompt +
   * new tokens, as Qwen's); a variant that claims embeds input keeps the prompt in its completions.
   */
  @Test
  void isEmbedsInputDecidesWhatGenerationReturns(@TempDir Path dir) throws Exception {
    Path ckpt = toy(dir);
    VlmModule family = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    List<Example> data = GrpoTrainerTest.boxes(dir, 4);
    Outcome ids = step(family, ckpt, data, dir.resolve("ids"));
    Outcome embeds = step(Variant.of(family).embedsInput(true), ckpt, data, dir.resolve("embeds"));
    assertEquals(ids.completions().size(), embeds.completions().size());
    for (int i = 0; i < ids.completions().size(); i++) {
      String c = ids.completions().get(i);
      String withPrompt = embeds.completions().get(i);
      assertTrue(withPrompt.endsWith(c) && withPrompt.length() > c.length() && withPrompt.contains("assistant"),
          "completion " + i + " should be the prompt's text + " + Json.write(c) + ", got " + Json.write(withPrompt));
    }
  }
}
