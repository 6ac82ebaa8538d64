// bin/vlmr1 score: scores saved completions offline with VLM-R1's rewards (JSONL in, JSONL out, a summary).
package org.vlmr1.cli;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.vlmr1.module.HfTokenizer;
import org.vlmr1.util.Json;
import org.vlmr1.reward.LlmJudge;
import org.vlmr1.reward.RewardFunction;
import org.vlmr1.reward.RewardSample;
import org.vlmr1.reward.RewardSamples;
import org.vlmr1.reward.RewardScorer;
import org.vlmr1.reward.Rewards;
import org.vlmr1.module.VlmModules;
import org.vlmr1.reward.TokenCounter;

/** The offline scoring command. */
final class ScoreCommand implements Command {
  @Override
  public String name() {
    return "score";
  }

  @Override
  public String summary() {
    return "score saved completions (JSONL) with VLM-R1's reward functions";
  }

  @Override
  public List<FlagSpec> flags() {
    return List.of(
        FlagSpec.value("in", null, "input JSONL: completion, solution, optional accu_reward_method, image_path, "
            + "image_grid_thw, id, ..."),
        FlagSpec.value("out", null, "output JSONL: id, rewards {name: score}, total"),
        FlagSpec.bool("overwrite", "allow --out to be --in (the scores replace the input once all are computed)"),
        FlagSpec.list("reward_funcs", "accuracy,format", "reward functions: accuracy, format, length, repetition"),
        FlagSpec.list("reward_weights", null, "one weight per reward function (default 1 each)"),
        FlagSpec.bool("is_reward_customized_from_vlm_module", "use the VLM module's REC rewards (needs --vlm, "
            + "--task_type rec)"),
        FlagSpec.value("vlm", null, "the module whose REC rewards to use: qwen or internvl"),
        FlagSpec.value("task_type", null, "task type for module rewards (rec)"),
        FlagSpec.value("image_folders", null, "folder that relative image paths resolve against (default: the "
            + "input file's folder)"),
        FlagSpec.bool("allow_image_paths_outside_folders", "accept image paths outside the image folder (VLM-R1's "
            + "completion logs hold absolute paths)"),
        FlagSpec.value("tokenizer", null, "tokenizer.json, or a folder holding one, for the length reward"),
        FlagSpec.value("llm_model", "qwen2.5:7b", "model of the llm accuracy judge (endpoint: OPENAI_API_BASE, "
            + "OPENAI_API_KEY)"),
        FlagSpec.value("llm_timeout", "30", "seconds per llm judge request"),
        FlagSpec.value("threads", String.valueOf(Runtime.getRuntime().availableProcessors()), "scoring threads"));
  }

  @Override
  public int run(Flags f) throws Exception {
    if (f.get("in") == null || f.get("out") == null) {
      throw new UsageException("score needs --in FILE.jsonl and --out FILE.jsonl");
    }
    Path in = Path.of(f.get("in"));
    Path out = Path.of(f.get("out"));
    if (!Files.isRegularFile(in)) {
      throw new UsageException("--in " + in + " is not a file");
    }
    boolean replacesInput = Files.exists(out) && Files.isSameFile(in, out);
    if (replacesInput && !f.getBoolean("overwrite")) {
      throw new UsageException("--out " + out + " is the input file --in " + in + ": the scores would replace the "
          + "completions; choose another --out, or pass --overwrite to replace them");
    }
    if (Files.isDirectory(out)) {
      throw new UsageException("--out " + out + " is a folder; give a file name");
    }
    Path imageRoot = f.get("image_folders") != null ? Path.of(f.get("image_folders"))
        : in.toAbsolutePath().getParent();
    boolean allowOutside = f.getBoolean("allow_image_paths_outside_folders");
    List<String> names = f.getList("reward_funcs");
    String vlm = null;
    if (f.getBoolean("is_reward_customized_from_vlm_module")) {
      vlm = f.get("vlm");
      if (vlm == null || f.get("task_type") == null) {
        throw new UsageException("--is_reward_customized_from_vlm_module needs --vlm qwen|internvl and "
            + "--task_type rec");
      }
    }
    TokenCounter tokens = null;
    if (names.contains("length")) {
      if (f.get("tokenizer") == null) {
        throw new UsageException("the length reward counts tokens: give --tokenizer tokenizer.json (or its folder)");
      }
      tokens = HfTokenizer.load(Path.of(f.get("tokenizer")))::count;
    }
    LlmJudge judge = LlmJudge.fromEnvironment(f.get("llm_model"), Duration.ofSeconds(f.getInt("llm_timeout")));
    List<RewardFunction> fns;
    try {
      String family = vlm;
      fns = Rewards.resolve(names, family == null ? null
          : name -> VlmModules.selectRewardFunction(family, name, f.get("task_type")),
          new Rewards.Context(tokens, judge));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    double[] weights = null;
    if (f.has("reward_weights")) {
      List<String> w = f.getList("reward_weights");
      if (w.size() != names.size()) {
        throw new UsageException(w.size() + " --reward_weights for " + names.size() + " --reward_funcs");
      }
      weights = f.getDoubles("reward_weights");
      try {
        RewardScorer.checkWeights(weights);
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage());
      }
    }
    List<RewardSample> samples = new ArrayList<>();
    List<Object> ids = new ArrayList<>(); // as given, so the output repeats the id's JSON type
    try (BufferedReader r = Files.newBufferedReader(in, StandardCharsets.UTF_8)) {
      int lineNo = 0;
      for (String line; (line = r.readLine()) != null; ) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        String where = "line " + lineNo + " of " + in.getFileName();
        Object parsed;
        try {
          parsed = Json.parse(line);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(where + ": " + e.getMessage());
        }
        if (!(parsed instanceof Map<?, ?> m)) {
          throw new IllegalArgumentException(where + ": expected a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> obj = (Map<String, Object>) m;
        samples.add(RewardSamples.fromJson(obj, imageRoot, where, allowOutside));
        ids.add(obj.get("id"));
      }
    }
    int threads = f.getInt("threads");
    if (threads < 1) {
      throw new UsageException("--threads must be >= 1, got " + threads);
    }
    long t0 = System.nanoTime();
    RewardScorer.Scores scores;
    try (RewardScorer scorer = new RewardScorer(fns, weights, threads)) {
      scores = scorer.score(samples);
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    if (out.toAbsolutePath().getParent() != null) {
      Files.createDirectories(out.toAbsolutePath().getParent());
    }
    // Written beside --out and moved over it, so that a failed write never leaves --out (perhaps --in) half written.
    // (Not createTempFile: its owner-only permissions would carry over to --out.)
    Path tmp = out.toAbsolutePath().resolveSibling("." + out.getFileName() + ".tmp-"
        + ProcessHandle.current().pid());
    try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
      for (int i = 0; i < samples.size(); i++) {
        Map<String, Object> row = new LinkedHashMap<>();
        if (ids.get(i) != null) {
          row.put("id", ids.get(i));
        }
        Map<String, Object> rewards = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
          rewards.put(names.get(k), scores.perFunction()[k][i]);
        }
        row.put("rewards", rewards);
        row.put("total", scores.total()[i]);
        w.write(Json.write(row));
        w.newLine();
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    System.out.printf(Locale.ROOT, "scored %d completions in %.2f s (%.0f/s)%n", samples.size(), seconds,
        samples.size() / Math.max(seconds, 1e-9));
    for (int k = 0; k < names.size(); k++) {
      double mean = 0;
      for (double v : scores.perFunction()[k]) {
        mean += v;
      }
      System.out.printf(Locale.ROOT, "  %-12s mean %.4f%n", names.get(k),
          samples.isEmpty() ? 0 : mean / samples.size());
    }
    System.out.println("wrote " + out);
    return 0;
  }
}
