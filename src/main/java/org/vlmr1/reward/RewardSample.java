// What a reward function sees of one completion: the decoded text and its example's fields (VLM-R1's reward kwargs).
package org.vlmr1.reward;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.vlmr1.util.InputFrame;
import org.vlmr1.util.Json;

/**
 * One completion to score with the fields of its example. Every list is per example (a sample with two images has two
 * paths and two input frames, unlike VLM-R1, which keeps one image_grid_thw row per image across the batch).
 *
 * @param id the example's id, or null (used in error messages)
 * @param completion the decoded completion text (special tokens skipped)
 * @param solution the example's solution text
 * @param problem the example's problem text, or null
 * @param imagePaths the example's images, resolved; empty for text-only examples
 * @param inputFrames the frames the model saw of those images after preprocessing (the pixels its absolute box
 *     coordinates refer to); empty when unknown or the family writes relative coordinates
 * @param accuRewardMethod the example's {@code accu_reward_method}, or null for {@code default}
 * @param fields every other JSONL key of the example, as parsed; keys whose value is null are dropped
 */
public record RewardSample(String id, String completion, String solution, String problem, List<Path> imagePaths,
    List<InputFrame> inputFrames, String accuRewardMethod, Map<String, Object> fields) {

  public RewardSample {
    completion = completion == null ? "" : completion;
    solution = solution == null ? "" : solution;
    imagePaths = imagePaths == null ? List.of() : List.copyOf(imagePaths);
    inputFrames = inputFrames == null ? List.of() : List.copyOf(inputFrames);
    fields = Json.withoutNulls(fields);
  }

  /** A text-only sample: a completion and its solution. */
  public static RewardSample of(String completion, String solution) {
    return new RewardSample(null, completion, solution, null, List.of(), List.of(), null, Map.of());
  }

  /** A copy with another {@code accu_reward_method}. */
  public RewardSample withMethod(String method) {
    return new RewardSample(id, completion, solution, problem, imagePaths, inputFrames, method, fields);
  }

  /** "example 17" or "an example without id", for error messages. */
  public String describe() {
    return id == null ? "an example without id" : "example " + id;
  }
}
