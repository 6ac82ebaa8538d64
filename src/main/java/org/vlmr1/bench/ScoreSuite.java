// bin/vlmr1 bench score: completions scored per second by the reward functions on a pool (issue: rewards, "Speed"):
// 100,000 REC completions (Qwen's IoU with box rescaling + REC format) and 10,000 detection completions (COCO AP +
// format); --quick uses a tenth. Completions are synthetic and seeded, a mix of right, wrong and malformed answers.
package org.vlmr1.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.vlmr1.util.InputFrame;
import org.vlmr1.module.VlmModules;
import org.vlmr1.reward.AccuracyReward;
import org.vlmr1.reward.FormatReward;
import org.vlmr1.reward.RewardSample;
import org.vlmr1.reward.RewardScorer;

/** The score suite. */
final class ScoreSuite implements BenchSuite {
  @Override
  public String name() {
    return "score";
  }

  @Override
  public List<BenchCase> cases(BenchOptions o) {
    long rec = o.rows() > 0 ? o.rows() : o.quick() ? 10_000 : 100_000;
    long od = o.rows() > 0 ? o.rows() : o.quick() ? 1_000 : 10_000;
    List<BenchCase> cases = new ArrayList<>();
    if (o.wants("score", "text")) {
      cases.add(new BenchCase("rec", "score", "rec-qwen", "N=" + rec + " rewards=accuracy+format", "text",
          () -> new Scoring(recSamples((int) rec), true)));
      cases.add(new BenchCase("od", "score", "od_ap", "N=" + od + " rewards=accuracy+format", "text",
          () -> new Scoring(odSamples((int) od), false)));
    }
    return cases;
  }

  static final class Scoring implements Measured {
    final List<RewardSample> samples;
    final RewardScorer scorer;

    Scoring(List<RewardSample> samples, boolean rec) {
      this.samples = samples;
      this.scorer = new RewardScorer(rec
          ? List.of(VlmModules.selectRewardFunction("qwen", "accuracy", "rec"),
              VlmModules.selectRewardFunction("qwen", "format", "rec"))
          : List.of(new AccuracyReward(), new FormatReward()), null, Runtime.getRuntime().availableProcessors());
    }

    @Override
    public void run() {
      scorer.score(samples);
    }

    @Override
    public double workPerRun() {
      return samples.size();
    }

    @Override
    public String unit() {
      return "completions/s";
    }

    @Override
    public void close() {
      scorer.close();
    }
  }

  private static Path image() {
    try {
      Path dir = Files.createTempDirectory("vlmr1-bench-score");
      dir.toFile().deleteOnExit();
      Path png = dir.resolve("img.png");
      ImageIO.write(new BufferedImage(640, 480, BufferedImage.TYPE_INT_RGB), "png", png.toFile());
      png.toFile().deleteOnExit();
      return png;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static List<RewardSample> recSamples(int n) {
    Random rnd = new Random(42);
    Path png = image();
    List<RewardSample> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int x = rnd.nextInt(500);
      int y = rnd.nextInt(380);
      int w = 10 + rnd.nextInt(120);
      int h = 10 + rnd.nextInt(90);
      String sol = "<answer> [" + x + ", " + y + ", " + (x + w) + ", " + (y + h) + "] </answer>";
      int jitter = rnd.nextInt(40) - 20;
      String box = "[" + Math.max(0, x + jitter) + ", " + Math.max(0, y + jitter) + ", " + (x + w) + ", " + (y + h)
          + "]";
      String completion = switch (i % 4) {
        case 0, 1 -> "<think>The person in the blue shirt is on the left.</think>\n<answer>{\"bbox_2d\": " + box
            + ", \"label\": \"person\"}</answer>";
        case 2 -> "<think>Looking at the image.</think><answer>" + box + "</answer>";
        default -> "I think it is somewhere around " + box;
      };
      out.add(new RewardSample(String.valueOf(i), completion, sol, null, List.of(png),
          List.of(new InputFrame(46 * 14, 34 * 14)), null, Map.of()));
    }
    return out;
  }

  static List<RewardSample> odSamples(int n) {
    Random rnd = new Random(7);
    String[] labels = {"person", "car", "dog", "bicycle"};
    List<RewardSample> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int boxes = 1 + rnd.nextInt(6);
      StringBuilder gt = new StringBuilder("```json\n[");
      StringBuilder pred = new StringBuilder("```json\n[");
      for (int b = 0; b < boxes; b++) {
        int x = rnd.nextInt(900);
        int y = rnd.nextInt(900);
        int s = 20 + rnd.nextInt(100);
        String label = labels[rnd.nextInt(labels.length)];
        gt.append(b > 0 ? ", " : "").append("{\"bbox_2d\": [").append(x).append(", ").append(y).append(", ")
            .append(x + s).append(", ").append(y + s).append("], \"label\": \"").append(label).append("\"}");
        int d = rnd.nextInt(16) - 8;
        pred.append(b > 0 ? ", " : "").append("{\"bbox_2d\": [").append(x + d).append(", ").append(y).append(", ")
            .append(x + s + d).append(", ").append(y + s).append("], \"label\": \"")
            .append(rnd.nextInt(5) == 0 ? labels[rnd.nextInt(labels.length)] : label).append("\"}");
      }
      gt.append("]\n```");
      pred.append("]\n```");
      String completion = "<think>I see " + boxes + " objects.</think>\n<answer>" + pred + "</answer>";
      out.add(new RewardSample(String.valueOf(i), completion, "<answer>" + gt + "</answer>", null, List.of(),
          List.of(), "od_ap", Map.of()));
    }
    return out;
  }
}
