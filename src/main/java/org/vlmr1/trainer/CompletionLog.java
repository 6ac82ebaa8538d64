// --log_completions: one JSON line per completion of every generation round (step, global sample index, prompt,
// completion, each reward, advantage), appended to completions.jsonl so a run's rollouts can be read back and
// scored offline. VLM-R1 accepts the flag and writes nothing; TRL prints a table.
package org.vlmr1.trainer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vlmr1.util.Json;

/** Appends completion records to a JSONL file. */
public final class CompletionLog {
  private final Path file;

  /** @param file completions.jsonl (created on the first append; parent folders must exist) */
  public CompletionLog(Path file) {
    this.file = file;
  }

  /**
   * One record per completion.
   *
   * @param step the optimizer step that generated them (1-based, as metrics.jsonl)
   * @param sampleIndex global sample index of each completion
   * @param rewardNames the reward functions, in the order of {@code perFunction}
   * @param perFunction (functions, completions) scores
   * @param total the weighted sum of the rewards, one per completion
   * @param advantages one per completion
   * @param skipped completions of prompts skipped for images that failed to decode (marked "skipped": true)
   */
  void append(int step, long[] sampleIndex, List<String> prompts, List<String> completions, List<String> rewardNames,
      double[][] perFunction, double[] total, float[] advantages, boolean[] skipped) {
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND)) {
      for (int i = 0; i < completions.size(); i++) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", step);
        row.put("sample_index", sampleIndex[i]);
        row.put("prompt", prompts.get(i));
        row.put("completion", completions.get(i));
        Map<String, Object> rewards = new LinkedHashMap<>();
        for (int f = 0; f < rewardNames.size(); f++) {
          rewards.put(rewardNames.get(f), perFunction[f][i]);
        }
        row.put("rewards", rewards);
        row.put("reward", total[i]);
        row.put("advantage", (double) advantages[i]);
        if (skipped[i]) {
          row.put("skipped", true);
        }
        w.write(Json.write(row));
        w.newLine();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + file, e);
    }
  }
}
