// GRPO learns: on a task small enough for a CPU (a tiny Qwen2.5-VL rewarded for the characters its completions spell,
// sampled among its top 20 tokens), the mean reward of the last steps clearly exceeds that of the first steps within a
// fixed, seeded budget of optimizer steps.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.reward.RewardFunction;
import org.vlmr1.reward.RewardSample;

@Tag("slow")
class LearningTest {
  /** Characters of the completion text / 40 (random tokens spell 1 to 15 characters each). */
  static final RewardFunction CHARS = new RewardFunction() {
    @Override
    public String name() {
      return "chars";
    }

    @Override
    public double score(RewardSample s) {
      return s.completion().length() / 40.0;
    }
  };

  @Test
  void meanRewardRisesWithinTwentyFiveSteps(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(TinyQwen.spec(21), ckpt);
    VlmModule module = TinyQwen.module(ckpt);
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(4).perDeviceTrainBatchSize(16).maxCompletionLength(8)
        .maxSteps(25).learningRate(5e-3).beta(0).topK(20).temperature(1.0).seed(5).outputDir(dir.resolve("run"))
        .build();
    try (QwenVlModel policy = QwenVlModel.load(ckpt);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, null, List.of(CHARS),
            GrpoTrainerTest.boxes(dir, 8), "rec")) {
      List<StepMetrics> m = t.train();
      double first = 0;
      double last = 0;
      for (int i = 0; i < 5; i++) {
        first += m.get(i).reward() / 5;
        last += m.get(m.size() - 1 - i).reward() / 5;
      }
      System.out.printf("mean reward: first 5 steps %.4f, last 5 steps %.4f%n", first, last);
      assertTrue(last > first * 1.2 && last - first > 0.05, "reward did not rise: " + first + " -> " + last);
    }
  }
}
