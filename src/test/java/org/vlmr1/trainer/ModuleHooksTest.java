// The contract's hooks decide what the trainer does (issue 13): a family that changes customMultimodalKeywords or
// nonGenerateParams changes the trainer's result accordingly. Before, the trainer passed prepareModelInputs' whole map
// to every pass and to generation, so these hooks changed nothing.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.reward.RewardFunction;
import org.vlmr1.util.Json;

class ModuleHooksTest {
  /** A family that is another one except for the two hooks under test. */
  record Variant(VlmModule d, List<String> multimodalKeywords, List<String> nonGenerate,
      Class<? extends VlmModel> model) implements VlmModule {
    Variant(VlmModule d, List<String> multimodalKeywords, List<String> nonGenerate) {
      this(d, multimodalKeywords, nonGenerate, d.modelClass());
    }

    @Override public String vlmKey() { return d.vlmKey(); }
    @Override public Class<? extends VlmModel> modelClass() { return model; }
    @Override public void postModelInit(VlmModel m) { d.postModelInit(m); }
    @Override public List<String> visionModulesKeywords() { return d.visionModulesKeywords(); }
    @Override public List<String> customMultimodalKeywords() { return multimodalKeywords; }
    @Override public List<String> nonGenerateParams() { return nonGenerate; }
    @Override public List<ProcessingKeyword> customProcessingKeywords() { return d.customProcessingKeywords(); }
    @Override public boolean isEmbedsInput() { return d.isEmbedsInput(); }
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
  abstract static class ToyModel implements VlmModel {
    public static ToyModel load(Path checkpoint) {
      throw new UnsupportedOperationException("ToyModel.load(" + checkpoint.getFileName() + ")");
    }
  }

  @Test
  void loadModelInstantiatesTheModelClass(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 13), ckpt);
    VlmModule qwen = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS);
    try (VlmModel m = qwen.loadModel(ckpt)) {
      assertEquals(qwen.modelClass(), m.getClass());
    }
    VlmModule toy = new Variant(qwen, qwen.customMultimodalKeywords(), qwen.nonGenerateParams(), ToyModel.class);
    UnsupportedOperationException e = org.junit.jupiter.api.Assertions.assertThrows(
        UnsupportedOperationException.class, () -> toy.loadModel(ckpt));
    assertEquals("ToyModel.load(tiny)", e.getMessage());
    VlmModule none = new Variant(qwen, List.of(), List.of(), VlmModel.class);
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> none.loadModel(ckpt));
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
          .map(l -> (String) ((java.util.Map<?, ?>) Json.parse(l)).get("completion")).toList();
      return new Outcome(texts, gradNorm);
    }
  }

  @Test
  void multimodalKeywordsAndNonGenerateParamsDriveTheTrainer(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 13), ckpt);
    VlmModule qwen = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 12544L));
    List<Example> data = GrpoTrainerTest.boxes(dir, 4);
    Outcome full = step(qwen, ckpt, data, dir.resolve("full"));
    Outcome same = step(new Variant(qwen, qwen.customMultimodalKeywords(), qwen.nonGenerateParams()), ckpt, data,
        dir.resolve("same"));
    assertEquals(full, same, "the same hooks give the same step");
    // No pixel_values kept: every pass, generation included, runs without image features.
    Outcome noPixels = step(new Variant(qwen, List.of(), List.of()), ckpt, data, dir.resolve("none"));
    assertNotEquals(full.completions(), noPixels.completions(), "generation saw the images before");
    // The images withheld from generation only: the completions of the image-less generation, trained with images.
    Outcome noGenPixels = step(new Variant(qwen, qwen.customMultimodalKeywords(), List.of("pixel_values",
        "image_grid_thw")), ckpt, data, dir.resolve("nogen"));
    assertEquals(noPixels.completions(), noGenPixels.completions(), "generation without pixel_values");
    assertNotEquals(noPixels.gradNorm(), noGenPixels.gradNorm(), "the loss forward still took the images");
  }
}
