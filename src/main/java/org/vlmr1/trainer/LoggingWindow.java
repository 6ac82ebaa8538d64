// What metrics.jsonl records at a logging step: the steps since the previous log averaged, as HF's Trainer averages
// the loss over the logging interval and TRL's log() averages each of its metric lists since its last call
// (VLM-R1-SPEC.md 4.6). With --logging_steps 1 (VLM-R1's scripts) a window holds one step and logs it unchanged.
package org.vlmr1.trainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/** Steps between two logs. Used from the training loop's thread only. */
public final class LoggingWindow {
  private final List<StepMetrics> steps = new ArrayList<>();
  private double seconds;

  /** One logged line: the window's metrics and its mean step time. */
  public record Logged(StepMetrics metrics, double stepSeconds) {}

  /** Adds a step that ran for {@code stepSeconds}. */
  public void add(StepMetrics m, double stepSeconds) {
    steps.add(m);
    seconds += stepSeconds;
  }

  /**
   * The steps added since the last call, as one line, and an empty window. Means (a non-finite value in the window
   * shows in its mean): loss, reward, reward_std, each rewards/*, kl, entropy, clip ratio, completion length, stage
   * times and tokens (so tokens/s is the window's). The last step's: step, grad_norm and learning_rate (HF logs the
   * latest of each). Skipped if any step was; skipped prompts summed.
   */
  public Logged drain() {
    if (steps.isEmpty()) {
      throw new IllegalStateException("no step since the last log");
    }
    StepMetrics last = steps.get(steps.size() - 1);
    Map<String, Double> rewards = new LinkedHashMap<>();
    for (String k : last.rewards().keySet()) {
      rewards.put(k, mean(m -> m.rewards().getOrDefault(k, Double.NaN)));
    }
    Map<String, Double> stageSeconds = new LinkedHashMap<>();
    for (String k : last.seconds().keySet()) {
      stageSeconds.put(k, mean(m -> m.seconds().getOrDefault(k, 0.0)));
    }
    boolean skipped = steps.stream().anyMatch(StepMetrics::skipped);
    int skippedPrompts = steps.stream().mapToInt(StepMetrics::skippedPrompts).sum();
    long tokens = Math.round(mean(m -> m.completionTokens()));
    StepMetrics avg = new StepMetrics(last.step(), mean(StepMetrics::loss), mean(StepMetrics::reward),
        mean(StepMetrics::rewardStd), rewards, mean(StepMetrics::kl), mean(StepMetrics::entropy),
        mean(StepMetrics::clipRatio), mean(StepMetrics::completionLength), last.gradNorm(), last.learningRate(),
        skipped, stageSeconds, tokens, skippedPrompts);
    Logged out = new Logged(avg, seconds / steps.size());
    steps.clear();
    seconds = 0;
    return out;
  }

  private double mean(ToDoubleFunction<StepMetrics> f) {
    if (steps.size() == 1) {
      return f.applyAsDouble(steps.get(0)); // bit for bit what the step logged
    }
    double sum = 0;
    for (StepMetrics m : steps) {
      sum += f.applyAsDouble(m);
    }
    return sum / steps.size();
  }
}
