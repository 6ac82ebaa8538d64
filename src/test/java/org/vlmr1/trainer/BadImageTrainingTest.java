// An image that passes validation's header check but fails to decode mid-run (corrupt pixel data), on a tiny random
// Qwen2.5-VL: fail stops naming the image file and the example's data line; skip completes the steps, the prompt's
// rows get advantage 0 (completions.jsonl marks them) and the step's reward leaves them out, counted as
// skipped_prompts.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.BadImageFiles;
import org.vlmr1.data.Example;
import org.vlmr1.data.JsonlDataset.OnBadSample;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.reward.AccuracyReward;
import org.vlmr1.reward.FormatReward;
import org.vlmr1.util.Json;

class BadImageTrainingTest {
  @Test
  @SuppressWarnings("unchecked")
  void failNamesTheFileAndLineAndSkipTrainsOnWithoutThePrompt(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(5), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    List<Example> data = new ArrayList<>();
    List<Example> boxes = GrpoTrainerTest.boxes(dir, 4);
    for (int i = 0; i < boxes.size(); i++) {
      Example e = boxes.get(i);
      data.add(new Example(e.id(), e.problem(), e.images(), e.solution(), null, Map.of(), "d.jsonl:" + (i + 1)));
    }
    Path bad = data.get(1).images().get(0);
    BadImageFiles.pngWithCorruptData(bad, 84, 56);
    GrpoConfig.Builder b = GrpoConfig.builder().numGenerations(2).perDeviceTrainBatchSize(4).maxCompletionLength(4)
        .maxSteps(2).learningRate(1e-3).beta(0.04).seed(7).outputDir(dir.resolve("run"));
    try (QwenVlModel policy = QwenVlModel.load(ckpt); QwenVlModel ref = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(b.build(), module, policy, ref, List.of(new AccuracyReward(),
            new FormatReward()), data, "rec")) {
      IllegalStateException e = assertThrows(IllegalStateException.class, t::train);
      assertTrue(e.getMessage().contains("d.jsonl:2 (example 1): image " + bad + " cannot be decoded: Error reading "
          + "PNG image data") && e.getMessage().contains("--on_bad_sample skip"), e.getMessage());
    }
    Path log = dir.resolve("completions.jsonl");
    List<StepMetrics> metrics;
    try (QwenVlModel policy = QwenVlModel.load(ckpt); QwenVlModel ref = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(b.onBadSample(OnBadSample.SKIP).build(), module, policy, ref,
            List.of(new AccuracyReward(), new FormatReward()), data, "rec")) {
      t.logCompletions(new CompletionLog(log));
      metrics = t.train();
    }
    assertEquals(2, metrics.size());
    assertEquals(1, metrics.stream().mapToInt(StepMetrics::skippedPrompts).sum(), metrics.toString());
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String line : Files.readAllLines(log)) {
      rows.add((Map<String, Object>) Json.parse(line));
    }
    assertEquals(8, rows.size(), "2 steps x 4 completions");
    for (StepMetrics m : metrics) {
      assertFalse(m.skipped(), "step " + m.step() + " trains on the other prompt");
      assertTrue(Double.isFinite(m.loss()) && Double.isFinite(m.kl()) && m.gradNorm() > 0, m.toString());
      List<Map<String, Object>> step = rows.stream().filter(r -> ((Number) r.get("step")).intValue() == m.step())
          .toList();
      List<Map<String, Object>> kept = step.stream().filter(r -> !r.containsKey("skipped")).toList();
      assertEquals(m.skippedPrompts() == 1 ? 2 : 4, kept.size(), "step " + m.step());
      assertEquals(kept.stream().mapToDouble(r -> ((Number) r.get("reward")).doubleValue()).average().orElseThrow(),
          m.reward(), 1e-12, "step " + m.step() + "'s reward is the mean over the prompts not skipped");
      for (Map<String, Object> r : step) {
        if (r.containsKey("skipped")) {
          assertEquals(0.0, ((Number) r.get("advantage")).doubleValue());
          assertFalse(r.get("prompt").toString().contains("<|vision_start|>"), "rendered without its image");
        }
      }
    }
  }
}
