// One training example as VLM-R1's JSONL loader leaves it: the problem text, its images, the solution and the
// example's other fields (VLM-R1-SPEC.md 2.1).
package org.vlmr1.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.vlmr1.util.Json;

/**
 * @param id the example's id (error messages, metrics)
 * @param problem the question with the {@code <image>} placeholders removed
 * @param images resolved image files, in order (empty for text-only)
 * @param solution the ground truth (VLM-R1 wraps it as {@code <answer> ... </answer>} for the rewards)
 * @param accuRewardMethod the accuracy method of this example, or null for default
 * @param fields any other keys of the line; keys whose value is JSON null are dropped (Python's kwarg would be None,
 *     which no reward reads), as RewardSamples drops them from score inputs
 * @param source where the example comes from ("data.jsonl:105"), for errors found after loading
 */
public record Example(String id, String problem, List<Path> images, String solution, String accuRewardMethod,
    Map<String, Object> fields, String source) {
  public Example {
    images = List.copyOf(images);
    fields = Json.withoutNulls(fields);
    source = source == null ? "example " + id : source;
  }

  /** An example built in code rather than read from a file: its id stands for its source. */
  public Example(String id, String problem, List<Path> images, String solution, String accuRewardMethod,
      Map<String, Object> fields) {
    this(id, problem, images, solution, accuRewardMethod, fields, null);
  }

  /** The source, and the id when the line has its own ("data.jsonl:105 (example 7)"): what errors name. */
  public String where() {
    return source.equals(id) || source.equals("example " + id) ? source : source + " (example " + id + ")";
  }
}
