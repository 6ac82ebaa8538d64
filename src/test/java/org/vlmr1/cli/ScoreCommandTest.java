// bin/vlmr1 score end to end: JSONL in, JSONL out, REC with images and grids, the length reward with a real
// tokenizer, and the errors a user sees for bad input.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.module.HfTokenizerTest;
import org.vlmr1.util.Json;

class ScoreCommandTest {

  record Run(int rc, String out, String err) {}

  static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      int rc = Main.run(List.of(args), System.out, new PrintStream(err, true, StandardCharsets.UTF_8));
      return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
    }
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> readJsonl(Path p) throws Exception {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String line : Files.readAllLines(p)) {
      rows.add((Map<String, Object>) Json.parse(line));
    }
    return rows;
  }

  @Test
  void scoresAccuracyAndFormatWithSpaceSeparatedFunctions(@TempDir Path dir) throws Exception {
    Path in = dir.resolve("in.jsonl");
    Files.write(in, List.of(
        "{\"id\": 7, \"completion\": \"<think>t</think><answer>3</answer>\", \"solution\": \"<answer>3</answer>\"}",
        "{\"completion\": \"4\", \"solution\": \"<answer>3</answer>\", \"accu_reward_method\": \"all_match\"}",
        ""));
    Path out = dir.resolve("out/scores.jsonl");
    Run r = run("score", "--in", in.toString(), "--out", out.toString(), "--reward_funcs", "accuracy", "format");
    assertEquals(0, r.rc(), r.err());
    List<Map<String, Object>> rows = readJsonl(out);
    assertEquals(2, rows.size());
    assertEquals(7L, rows.get(0).get("id"));
    assertEquals(Map.of("accuracy", 1.0, "format", 1.0), rows.get(0).get("rewards"));
    assertEquals(2.0, rows.get(0).get("total"));
    assertTrue(!rows.get(1).containsKey("id"));
    assertEquals(0.0, rows.get(1).get("total"));
    assertTrue(r.out().contains("accuracy     mean 0.5000"), r.out());
  }

  @Test
  void qwenRecRewardsReadImagesAndGrids(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("imgs"));
    ImageIO.write(new BufferedImage(300, 200, BufferedImage.TYPE_INT_RGB), "png", dir.resolve("imgs/a.png").toFile());
    Path in = dir.resolve("rec.jsonl");
    String completion = "<think>t</think><answer>{\\\"bbox_2d\\\": [0, 0, 154, 98]}</answer>";
    Files.write(in, List.of(
        "{\"id\": \"r1\", \"completion\": \"" + completion + "\", \"solution\": \"<answer>[0, 0, 150, 100]</answer>\","
            + " \"image_path\": [\"a.png\"], \"image_grid_thw\": [[1, 14, 22]]}"));
    Path out = dir.resolve("rec-out.jsonl");
    Run r = run("score", "--in", in.toString(), "--out", out.toString(), "--reward-funcs", "accuracy,format",
        "--is_reward_customized_from_vlm_module", "--vlm", "qwen", "--task_type", "rec",
        "--image_folders", dir.resolve("imgs").toString());
    assertEquals(0, r.rc(), r.err());
    assertEquals(Map.of("accuracy", 1.0, "format", 1.0), readJsonl(out).get(0).get("rewards"));

    Files.write(in, List.of("{\"completion\": \"" + completion + "\", \"solution\": \"[0, 0, 150, 100]\","
        + " \"image_path\": [\"a.png\"]}"));
    Run missing = run("score", "--in", in.toString(), "--out", out.toString(), "--is_reward_customized_from_vlm_module",
        "--vlm", "qwen", "--task_type", "rec", "--image_folders", dir.resolve("imgs").toString());
    assertEquals(1, missing.rc());
    assertTrue(missing.err().contains("line 1 of rec.jsonl") && missing.err().contains("image_grid_thw"),
        missing.err());

    Files.write(in, List.of("{\"completion\": \"x\", \"solution\": \"[0,0,1,1]\", \"image_path\": \"../../etc/x.png\"}"));
    Run escape = run("score", "--in", in.toString(), "--out", out.toString(), "--image_folders",
        dir.resolve("imgs").toString());
    assertEquals(1, escape.rc());
    assertTrue(escape.err().contains("leaves the image folder"), escape.err());
  }

  @Test
  void absoluteImagePathsOutsideTheFolderNeedTheFlag(@TempDir Path dir) throws Exception {
    // VLM-R1's completion logs name images by absolute path, anywhere on disk.
    Path elsewhere = dir.resolve("elsewhere/img.png").toAbsolutePath();
    Files.createDirectories(elsewhere.getParent());
    ImageIO.write(new BufferedImage(300, 200, BufferedImage.TYPE_INT_RGB), "png", elsewhere.toFile());
    Files.createDirectories(dir.resolve("logs"));
    Path in = dir.resolve("logs/completions.jsonl");
    String completion = "<think>t</think><answer>{\\\"bbox_2d\\\": [0, 0, 154, 98]}</answer>";
    Files.write(in, List.of("{\"completion\": \"" + completion + "\","
        + " \"solution\": \"<answer>[0, 0, 150, 100]</answer>\","
        + " \"image_path\": [" + Json.write(elsewhere.toString()) + "], \"image_grid_thw\": [[1, 14, 22]]}"));
    Path out = dir.resolve("scores.jsonl");
    String[] args = {"score", "--in", in.toString(), "--out", out.toString(), "--reward_funcs", "accuracy",
        "--is_reward_customized_from_vlm_module", "--vlm", "qwen", "--task_type", "rec"};
    Run refused = run(args);
    assertEquals(1, refused.rc());
    assertTrue(refused.err().contains("leaves the image folder")
        && refused.err().contains("--allow_image_paths_outside_folders"), refused.err());
    String[] allowed = java.util.Arrays.copyOf(args, args.length + 1);
    allowed[args.length] = "--allow_image_paths_outside_folders";
    Run r = run(allowed);
    assertEquals(0, r.rc(), r.err());
    assertEquals(Map.of("accuracy", 1.0), readJsonl(out).get(0).get("rewards"), "the image was read: rescaled IoU 1");
  }

  @Test
  void lengthRewardCountsTokensWithTheGivenTokenizer(@TempDir Path dir) throws Exception {
    Path tok = HfTokenizerTest.qwenTokenizer(dir);
    Path in = dir.resolve("len.jsonl");
    Files.write(in, List.of("{\"completion\": \"<answer>none</answer>\", \"solution\": \"<answer>None</answer>\"}"));
    Path out = dir.resolve("len-out.jsonl");
    Run noTok = run("score", "--in", in.toString(), "--out", out.toString(), "--reward_funcs", "length");
    assertEquals(2, noTok.rc());
    assertTrue(noTok.err().contains("--tokenizer"), noTok.err());
    Run r = run("score", "--in", in.toString(), "--out", out.toString(), "--reward_funcs", "length", "repetition",
        "--tokenizer", tok.toString());
    assertEquals(0, r.rc(), r.err());
    Map<?, ?> rewards = (Map<?, ?>) readJsonl(out).get(0).get("rewards");
    // "<answer>none</answer>" is a handful of tokens and correct ("none" = "none"): just under 1.0.
    double length = (Double) rewards.get("length");
    assertTrue(length > 0.99 && length < 1.0, "length reward " + length);
    assertEquals(0.0, rewards.get("repetition"));
  }

  @Test
  void usageErrors(@TempDir Path dir) throws Exception {
    assertEquals(2, run("score", "--out", "x").rc());
    Path in = dir.resolve("bad.jsonl");
    Files.write(in, List.of("{\"completion\": 3, \"solution\": \"a\"}"));
    Run r = run("score", "--in", in.toString(), "--out", dir.resolve("o.jsonl").toString());
    assertEquals(1, r.rc());
    assertTrue(r.err().contains("line 1 of bad.jsonl: \"completion\" must be a string"), r.err());
    Run unknown = run("score", "--in", in.toString(), "--out", "o", "--reward_funcs", "acuracy");
    assertEquals(2, unknown.rc());
    assertTrue(unknown.err().contains("unknown reward function 'acuracy'"), unknown.err());
    // the old code ran --threads 0 as one thread without a word
    Path good = dir.resolve("good.jsonl");
    Files.write(good, List.of("{\"completion\": \"<answer>a</answer>\", \"solution\": \"a\"}"));
    Run zero = run("score", "--in", good.toString(), "--out", dir.resolve("z.jsonl").toString(), "--threads", "0");
    assertEquals(2, zero.rc(), zero.err());
    assertTrue(zero.err().contains("--threads must be >= 1, got 0"), zero.err());
  }
}
