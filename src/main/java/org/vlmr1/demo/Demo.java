// The main job on an embedded default (bin/vlmr1 train with no model and no data): synthetic REC data, a tiny
// Qwen2.5-VL-architecture model with the real tokenizer, a short SFT warm start, GRPO with the module's REC rewards,
// evaluation before and after, plots and summary.json in runs/demo-<time>/ (CONVENTIONS.md "Runs and outputs").
package org.vlmr1.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vlmr1.data.Example;
import org.vlmr1.data.JsonlDataset;
import org.vlmr1.data.SyntheticRec;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.util.Json;
import org.vlmr1.reward.RewardFunction;
import org.vlmr1.trainer.GrpoConfig;
import org.vlmr1.trainer.GrpoTrainer;
import org.vlmr1.trainer.LrSchedulerType;
import org.vlmr1.trainer.Plots;
import org.vlmr1.trainer.RecEvaluator;
import org.vlmr1.trainer.RunWriter;
import org.vlmr1.trainer.SftTrainer;
import org.vlmr1.trainer.StepMetrics;
import org.vlmr1.trainer.TrainingLoop;

/** The built-in demo. */
public final class Demo {
  /** Demo sizes (small enough for a 2-core CPU in minutes). */
  public record Sizes(int trainExamples, int testExamples, int sftSteps, int grpoSteps, int numGenerations,
      int batch, int maxCompletionLength, double sftLr, double grpoLr, double temperature, long seed) {
    public static Sizes defaults() {
      return new Sizes(256, 64, 250, 80, 4, 16, 48, 5e-3, 1e-4, 0.7, 0);
    }

    /** These sizes with another seed (data, model initialisation, sampling). */
    public Sizes withSeed(long newSeed) {
      return new Sizes(trainExamples, testExamples, sftSteps, grpoSteps, numGenerations, batch, maxCompletionLength,
          sftLr, grpoLr, temperature, newSeed);
    }
  }

  /** The demo's images. */
  static final SyntheticRec.Spec DATA = new SyntheticRec.Spec(84, 56, SyntheticRec.Layout.GRID, 28,
      SyntheticRec.Background.GRADIENT, 1, 2);

  private Demo() {}

  /** The REC answer the warm start teaches: VLM-R1's format with the box in the image's own pixels. */
  static String answer(Example e) {
    String name = e.problem().substring(e.problem().lastIndexOf("the ") + 4).replace(".", "");
    return "<think>" + name + "</think><answer>{\"bbox_2d\": " + e.solution() + "}</answer>";
  }

  /** Runs the demo under {@code runsDir}; returns the run folder. */
  public static Path run(Path runsDir, Sizes s) throws IOException {
    long t0 = System.nanoTime();
    Path run = runsDir.resolve("demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    Files.createDirectories(run);
    Path latest = runsDir.resolve("latest");
    Files.deleteIfExists(latest);
    try {
      Files.createSymbolicLink(latest, run.getFileName());
    } catch (UnsupportedOperationException | IOException e) {
      // a filesystem without links: the printed path is enough
    }
    System.out.println("demo: run folder " + run.toAbsolutePath());
    // Data: 84x56 images stay their own size under smart_resize, so the model's frame is the image's, and are 3x2
    // vision tokens; one or two shapes each, one per token cell, on a background whose colour codes the position
    // (SyntheticRec.Background.GRADIENT says why a tiny model needs it).
    Path trainDir = run.resolve("data/train");
    Path testDir = run.resolve("data/test");
    List<Example> train = load(SyntheticRec.write(trainDir, s.trainExamples(), DATA, s.seed()), trainDir);
    List<Example> test = load(SyntheticRec.write(testDir, s.testExamples(), DATA, s.seed() + 1), testDir);
    Path model = run.resolve("model-init");
    QwenTiny.write(new QwenTiny.Spec(64, 4, 4, 2, 128, 2, 64, 2, s.seed()), model);
    double tData = seconds(t0);
    VlmModule module = VlmModules.forCheckpoint(model, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 12544L));
    Map<String, Object> summary = new LinkedHashMap<>();
    Map<String, Double> wall = new LinkedHashMap<>();
    wall.put("data", tData);
    double evalSeconds = 0;
    Path sftDir = run.resolve("checkpoint-sft");
    long t1 = System.nanoTime();
    try (QwenVlModel m = QwenVlModel.load(model);
        SftTrainer sft = new SftTrainer(module, m, train, "rec", Demo::answer, s.sftLr(), 8, s.seed(),
            LrSchedulerType.LINEAR, s.sftSteps())) {
      for (int i = 1; i <= s.sftSteps(); i++) {
        double loss = sft.step();
        if (i % 25 == 0 || i == s.sftSteps()) {
          System.out.printf("sft  [%d/%d] loss %.4f  %.0fs%n", i, s.sftSteps(), loss, seconds(t1));
        }
      }
      m.save(sftDir);
      wall.put("sft", seconds(t1));
      evalSeconds += evaluate(module, m, test, s, "sft", "SFT", summary, run);
    }
    long t2 = System.nanoTime();
    GrpoConfig cfg = GrpoConfig.builder().numGenerations(s.numGenerations()).perDeviceTrainBatchSize(s.batch())
        .maxCompletionLength(s.maxCompletionLength()).maxSteps(s.grpoSteps()).learningRate(s.grpoLr())
        .temperature(s.temperature())
        .beta(0.04).seed(s.seed()).outputDir(run).build();
    RunWriter writer = new RunWriter(run);
    List<RewardFunction> rewards = List.of(module.selectRewardFunction("accuracy", "rec"),
        module.selectRewardFunction("format", "rec"));
    List<StepMetrics> history;
    try (QwenVlModel policy = QwenVlModel.load(sftDir); QwenVlModel ref = QwenVlModel.load(sftDir);
        GrpoTrainer t = new GrpoTrainer(cfg, module, policy, ref, rewards, train, "rec")) {
      history = TrainingLoop.run(t, new TrainingLoop.Hooks() {
        @Override
        public void afterStep(StepMetrics m, double seconds, boolean loggingStep) throws IOException {
          writer.log(m, seconds);
          if (m.step() % 5 == 0 || m.step() == cfg.maxSteps()) {
            System.out.printf("grpo [%d/%d] reward %.4f  iou %.4f  format %.4f  kl %.4f  %.0fs%n", m.step(),
                cfg.maxSteps(), m.reward(), m.rewards().get("accuracy"), m.rewards().get("format"), m.kl(),
                seconds(t2));
          }
        }

        @Override
        public boolean saveAfter(StepMetrics m) {
          return m.step() == cfg.maxSteps();
        }

        @Override
        public void save(StepMetrics m, List<StepMetrics> steps) throws IOException {
          wall.put("grpo", seconds(t2));
          writer.checkpoint(policy, t, m.step(), steps, 0);
        }
      });
      evalSeconds += evaluate(module, policy, test, s, "grpo", "GRPO", summary, run);
    }
    int fifth = Math.max(1, history.size() / 5);
    summary.put("grpo_reward_first", meanReward(history.subList(0, fifth)));
    summary.put("grpo_reward_last", meanReward(history.subList(history.size() - fifth, history.size())));
    wall.put("eval", evalSeconds);
    wall.put("total", seconds(t0));
    summary.put("wall_seconds", wall);
    Files.writeString(run.resolve("summary.json"), Json.write(summary));
    Plots.write(run, history);
    System.out.println("demo: " + Json.write(summary));
    System.out.println("demo: metrics " + run.resolve("metrics.jsonl") + ", plots " + run.resolve("reward.png")
        + ", checkpoint " + run.resolve("checkpoint-" + history.size()));
    return run;
  }

  /** Evaluates on the held-out set; the per-example results go to eval-<key>.json in the run folder. */
  private static double evaluate(VlmModule module, QwenVlModel model, List<Example> test, Sizes s, String key,
      String label, Map<String, Object> summary, Path run) throws IOException {
    long te = System.nanoTime();
    RecEvaluator.Result r = RecEvaluator.evaluate(module, model, test, "rec", 8, s.maxCompletionLength(), true);
    summary.put(key + "_eval_mean_iou", r.meanIou());
    summary.put(key + "_eval_accuracy", r.accuracy());
    Map<String, Object> results = new java.util.LinkedHashMap<>();
    results.put("accuracy", r.accuracy());
    results.put("mean_iou", r.meanIou());
    results.put("results", r.samples().stream().map(RecEvaluator.Sample::toJson).toList());
    Files.writeString(run.resolve("eval-" + key + ".json"), Json.write(results));
    System.out.printf("eval after %s: accuracy %.3f, mean IoU %.3f%n", label, r.accuracy(), r.meanIou());
    return seconds(te);
  }

  private static List<Example> load(Path jsonl, Path folder) throws IOException {
    return JsonlDataset.load(new JsonlDataset.Spec(List.of(jsonl), List.of(folder), null,
        JsonlDataset.OnBadSample.FAIL, false)).examples();
  }

  private static double meanReward(List<StepMetrics> h) {
    return h.stream().mapToDouble(StepMetrics::reward).average().orElse(0);
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }
}
