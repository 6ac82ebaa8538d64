// COCO AP (map, od_ap, od_ap50, odLength), weighted_sum, the REC rewards and repetition, on hand-computed cases.
package org.vlmr1.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.util.InputFrame;

class DetectionRewardsTest {
  static final double EPS = 1e-12;

  static String boxes(String... items) {
    return "```json\n[" + String.join(", ", items) + "]\n```";
  }

  static String box(String label, int x1, int y1, int x2, int y2) {
    return "{\"bbox_2d\": [" + x1 + ", " + y1 + ", " + x2 + ", " + y2 + "], \"label\": \"" + label + "\"}";
  }

  static double accuracy(String completion, String solution, String method) {
    return new AccuracyReward().score(RewardSample.of(completion, solution).withMethod(method));
  }

  @Test
  void mapOfPerfectAndPartialDetections() {
    String gt = boxes(box("cat", 0, 0, 10, 10), box("dog", 20, 20, 40, 40));
    assertEquals(1.0, accuracy(gt, gt, "map"), EPS);
    // One of two cats found: recall 0.5, so 51 of 101 recall points have precision 1.
    String twoCats = boxes(box("cat", 0, 0, 10, 10), box("cat", 20, 20, 30, 30));
    assertEquals(51.0 / 101, accuracy(boxes(box("cat", 0, 0, 10, 10)), twoCats, "map"), EPS);
    // IoU 0.8 matches at 7 of the 10 thresholds (.50 ... .80).
    String oneCat = boxes(box("cat", 0, 0, 10, 10));
    assertEquals(0.7, accuracy(boxes(box("cat", 0, 0, 10, 8)), oneCat, "map"), EPS);
    // Labels missing from the ground truth are dropped; none left scores 0.
    assertEquals(0.0, accuracy(boxes(box("zebra", 0, 0, 10, 10)), oneCat, "map"));
    assertEquals(1.0, accuracy("no boxes", "nothing either", "map"), "both empty");
    assertEquals(0.0, accuracy("no boxes", oneCat, "map"));
    assertEquals(0.0, accuracy(boxes(box("cat", 0, 0, 10, 10)) + " ```json [broken ```", oneCat, "map"),
        "the last ```json block is the prediction; unparseable means none");
  }

  @Test
  void odRewardsWrapAnswersAndPenaliseExtraBoxes() {
    String gt = "<answer>" + boxes(box("cat", 0, 0, 10, 10)) + "</answer>";
    String four = "<think>t</think><answer>" + boxes(box("cat", 0, 0, 10, 10), box("cat", 0, 0, 10, 10),
        box("cat", 0, 0, 10, 10), box("cat", 0, 0, 10, 10)) + "</answer>";
    // Duplicates after a true positive keep precision 1 at every recall point: AP is 1 (the hack odLength fixes).
    assertEquals(1.0, accuracy(four, gt, "od_ap"), EPS);
    assertEquals(0.25, accuracy(four, gt, "odLength"), EPS);
    String close = "<answer>" + boxes(box("cat", 0, 0, 10, 8)) + "</answer>";
    assertEquals(0.7, accuracy(close, gt, "od_ap"), EPS);
    assertEquals(1.0, accuracy(close, gt, "od_ap50"), EPS);
    assertEquals(0.0, accuracy("no answer tags", gt, "od_ap"));
    assertEquals(1.0, accuracy("<answer>None</answer>", "<answer>None</answer>", "od_ap"));
    // pycocotools' precision is tp / (fp + tp + np.spacing(1)), and np.mean sums pairwise: a perfect detection's AP is
    // 1010 copies of 1 / (1 + 2^-52) averaged the numpy way, 0.9999999999999998 (the old left-to-right mean gave
    // 0.9999999999999999)
    String one = "<answer>" + boxes(box("cat", 10, 10, 50, 50)) + "</answer>";
    assertEquals(0.9999999999999998, accuracy(one, one, "od_ap"), 0.0);
    assertEquals(0.9999999999999999, accuracy(one, one, "od_ap50"), 0.0); // 101 copies: numpy's mean is this
    RewardSample bad = new RewardSample("17", "<answer>x</answer>", "<answer>```json [{\"bbox_2d\": ```</answer>",
        null, List.of(), List.of(), "od_ap", Map.of());
    RewardDataException e = assertThrows(RewardDataException.class, () -> new AccuracyReward().score(bad));
    assertTrue(e.getMessage().contains("example 17"), e.getMessage());
  }

  @Test
  void weightedSumGreedyMatching() {
    String gt = "<answer>" + boxes(box("Cat", 0, 0, 10, 10)) + "</answer>";
    assertEquals(1.0, accuracy("<answer>" + boxes(box("cat", 0, 0, 10, 10)) + "</answer>", gt, "weighted_sum"), EPS);
    assertEquals(0.3, accuracy("<answer>" + boxes(box("dog", 0, 0, 10, 10)) + "</answer>", gt, "weighted_sum"), EPS,
        "a label mismatch consumes the pair with IoU 0");
    assertEquals(0.3, accuracy("<answer>```json [{\"bbox_2d\": [0, 0, 10, 10]}] ```</answer>", gt, "weighted_sum"),
        EPS, "a missing label compares as empty (VLM-R1's pred_box bug fixed)");
    // One hit of two ground-truth boxes plus one false alarm: position 0.5, miss 0.5, false alarm 0.5.
    String two = "<answer>" + boxes(box("cat", 0, 0, 10, 10), box("cat", 50, 50, 60, 60)) + "</answer>";
    String pred = "<answer>" + boxes(box("cat", 0, 0, 10, 10), box("cat", 100, 100, 110, 110)) + "</answer>";
    assertEquals(0.7 * 0.5 + 0.3 * 0.5, accuracy(pred, two, "weighted_sum"), EPS);
    assertEquals(1.0, accuracy("<answer>None</answer>", "<answer>none</answer>", "weighted_sum"));
    assertEquals(0.0, accuracy("<answer>a cat</answer>", "<answer>none</answer>", "weighted_sum"));
    assertEquals(0.0, accuracy("<answer>nothing</answer>", gt, "weighted_sum"));
  }

  @Test
  void boxIou() {
    assertEquals(25.0 / 175, BoxIou.iou(new double[] {0, 0, 10, 10}, new double[] {5, 5, 15, 15}), EPS);
    assertEquals(1.0, BoxIou.iou(new double[] {1, 2, 3, 4}, new double[] {1, 2, 3, 4}), EPS);
    assertTrue(Double.isNaN(BoxIou.iou(new double[] {0, 0, 0, 0}, new double[] {0, 0, 0, 0})));
  }

  @Test
  void internVlRecRewards() {
    RewardFunction iou = Rewards.rec("accuracy", "rec", RecIouReward.internVl(), RecFormatReward.internVl());
    RewardFunction format = Rewards.rec("format", "rec", RecIouReward.internVl(), RecFormatReward.internVl());
    RewardSample s = RewardSample.of("<think>t</think><answer>[0,0,10,10]</answer>", "<answer>[5,5,15,15]</answer>");
    assertEquals(25.0 / 175, iou.score(s), EPS);
    assertEquals(1.0, format.score(s));
    assertEquals(0.0, RecFormatReward.qwen().score(s), "Qwen's format needs braces");
    assertEquals(1.0, RecFormatReward.qwen().score(
        RewardSample.of("<think>t</think><answer>{\"bbox_2d\": [1, 2, 3, 4]}</answer>", "")));
    assertEquals(0.0, iou.score(RewardSample.of("<answer>[-1,0,10,10]</answer>", "[0,0,10,10]")), "no signs");
    assertEquals(0.0, iou.score(RewardSample.of("<answer>[0.5,0,10,10]</answer>", "[0,0,10,10]")), "no decimals");
    assertEquals(0.0, iou.score(RewardSample.of("[0,0,10,10]", "[0,0,10,10]")), "no answer block");
    double huge = iou.score(RewardSample.of("<answer>[0,0,100000000000000000000,100000000000000000000]</answer>",
        "[0,0,10,10]"));
    assertEquals(100 / 1e40, huge, 1e-50, "unbounded ints, as in Python");
    assertThrows(RewardDataException.class, () -> iou.score(RewardSample.of("<answer>[0,0,1,1]</answer>", "oops")));
    assertThrows(IllegalArgumentException.class, () -> Rewards.rec("accuracy", "vqa", RecIouReward.qwen(),
        RecFormatReward.qwen()));
  }

  @Test
  void qwenRecRescalesFromTheResizedFrame(@TempDir Path dir) throws Exception {
    Path png = dir.resolve("img.png");
    ImageIO.write(new BufferedImage(300, 200, BufferedImage.TYPE_INT_RGB), "png", png.toFile());
    // grid 14 x 22 patches: the model saw 308 x 196 pixels; [0,0,154,98] there is [0,0,150,100] in the original.
    RewardSample s = new RewardSample("3", "<think>t</think><answer>{\"bbox_2d\": [0, 0, 154, 98]}</answer>",
        "<answer> [0, 0, 150, 100] </answer>", null, List.of(png), List.of(new InputFrame(22 * 14, 14 * 14)), null,
            Map.of());
    assertEquals(1.0, RecIouReward.qwen().score(s), EPS);
    assertEquals(BoxIou.iou(new double[] {0, 0, 154, 98}, new double[] {0, 0, 150, 100}),
        RecIouReward.internVl().score(s), EPS, "InternVL does not rescale");
    RewardSample noGrid = new RewardSample("4", s.completion(), s.solution(), null, List.of(png), List.of(), null,
        Map.of());
    RewardDataException e = assertThrows(RewardDataException.class, () -> RecIouReward.qwen().score(noGrid));
    assertTrue(e.getMessage().contains("example 4") && e.getMessage().contains("image_grid_thw"), e.getMessage());
  }

  @Test
  void repetition() {
    RepetitionReward r = new RepetitionReward();
    String dup = box("a", 1, 2, 3, 4);
    assertEquals(-0.5, r.score(RewardSample.of(boxes(dup, dup), "")), EPS);
    assertEquals(0.0, r.score(RewardSample.of(boxes(dup, box("b", 1, 2, 3, 4)), "")), EPS);
    assertEquals(-(1 - 6.0 / 7), r.score(RewardSample.of("a b c d e f A B C D E F", "")), EPS, "6-grams");
    assertEquals(0.0, r.score(RewardSample.of("only five words in here", "")));
    assertEquals(0.0, r.score(RewardSample.of("", "")));
    // Truncated JSON is repaired: the third box lost its label, the first two repeat.
    String cut = "```json\n[" + dup + ", " + dup + ", {\"bbox_2d\": [5, 6\n```";
    assertEquals(-0.5, r.score(RewardSample.of(cut, "")), EPS);
    assertEquals(List.of(Map.of("bbox_2d", List.of(1L, 2L, 3L, 4L), "label", "ca")),
        JsonRepair.parse("[{\"bbox_2d\": [1, 2, 3, 4], \"label\": \"ca"));
  }

  @Test
  void repetitionKeysBoxesAsPythonRendersThem() {
    RepetitionReward r = new RepetitionReward();
    // f"{bbox_2d}_{label}": true and "True" both render True, null and "None" both None, and a list renders like
    // the string "[1, 2, 3, 4]"; 1 and 1.0 stay apart ("1" vs "1.0")
    String sameAsTrue = "```json\n[{\"bbox_2d\": [1, 2, 3, 4], \"label\": true},"
        + " {\"bbox_2d\": [1, 2, 3, 4], \"label\": \"True\"}]\n```";
    assertEquals(-0.5, r.score(RewardSample.of(sameAsTrue, "")), EPS);
    String sameAsNone = "```json\n[{\"bbox_2d\": [1, 2, 3, 4], \"label\": null},"
        + " {\"bbox_2d\": [1, 2, 3, 4], \"label\": \"None\"}]\n```";
    assertEquals(-0.5, r.score(RewardSample.of(sameAsNone, "")), EPS);
    String listAndString = "```json\n[{\"bbox_2d\": [1, 2, 3, 4], \"label\": \"a\"},"
        + " {\"bbox_2d\": \"[1, 2, 3, 4]\", \"label\": \"a\"}]\n```";
    assertEquals(-0.5, r.score(RewardSample.of(listAndString, "")), EPS);
    String intAndFloat = "```json\n[{\"bbox_2d\": [1, 2, 3, 4], \"label\": \"a\"},"
        + " {\"bbox_2d\": [1.0, 2, 3, 4], \"label\": \"a\"}]\n```";
    assertEquals(0.0, r.score(RewardSample.of(intAndFloat, "")), EPS);
  }

  @Test
  void cosineLength() {
    assertEquals(0.75, CosineLengthReward.shaped(512, true), EPS);
    assertEquals(-0.25, CosineLengthReward.shaped(512, false), EPS);
    assertEquals(1.0, CosineLengthReward.shaped(0, true), EPS);
    assertEquals(0.5, CosineLengthReward.shaped(2048, true), EPS, "clamped at 1024, not periodic");
    TokenCounter words = text -> RepetitionReward.split(text).length;
    String gt = "<answer>" + boxes(box("cat", 0, 0, 10, 10)) + "</answer>";
    RewardSample right = RewardSample.of("<answer>" + boxes(box("cat", 0, 0, 10, 10)) + "</answer>", gt);
    RewardSample wrong = RewardSample.of("<answer>" + boxes(box("cat", 50, 50, 60, 60)) + "</answer>", gt);
    int len = words.count(right.completion());
    assertEquals(CosineLengthReward.shaped(len, true), new CosineLengthReward(words).score(right), EPS);
    assertEquals(CosineLengthReward.shaped(words.count(wrong.completion()), false),
        new CosineLengthReward(words).score(wrong), EPS);
    assertThrows(IllegalArgumentException.class, () -> new CosineLengthReward(null));
  }

  @Test
  void anEmptyGroundTruthBlockIsNoBoxes() {
    // VLM-R1 tests `if bbox_json:`: an empty or blank block is the empty list, so no prediction scores 1
    String one = boxes(box("cat", 0, 0, 10, 10));
    for (String empty : List.of("```json\n```", "```json  \n\t ```", "```json```")) {
      String sol = "<answer>" + empty + "</answer>";
      for (String m : List.of("map", "od_ap", "od_ap50", "odLength", "weighted_sum")) {
        assertEquals(1.0, accuracy("<answer>no boxes</answer>", sol, m), m + " against " + empty);
        assertEquals(0.0, accuracy("<answer>" + one + "</answer>", sol, m), m + ", a box against " + empty);
      }
      assertEquals(1.0, accuracy("no boxes", empty, "map"), "map reads the raw solution");
      assertEquals(0.0, accuracy("no answer block", sol, "od_ap"), "od: no predicted answer is 0 first");
    }
  }

  @Test
  void nullLabelsAndBooleanCoordinatesAsPython() {
    // None is a category (a dict key) like any other; True and False are 1 and 0 in Python arithmetic
    String gtNull = "```json [{\"bbox_2d\": [0, 0, 10, 10], \"label\": null}] ```";
    assertEquals(1.0, accuracy(gtNull, gtNull, "map"), EPS);
    assertEquals(0.0, accuracy(boxes(box("cat", 0, 0, 10, 10)), gtNull, "map"), "a label not in the ground truth");
    assertEquals(1.0, accuracy("<answer>" + gtNull + "</answer>", "<answer>" + gtNull + "</answer>", "od_ap"), EPS);
    String gtBool = "```json [{\"bbox_2d\": [true, false, 10, 10], \"label\": \"cat\"}] ```";
    assertEquals(1.0, accuracy(boxes(box("cat", 1, 0, 10, 10)), gtBool, "map"), EPS);
    assertEquals(1.0, accuracy("```json [{\"bbox_2d\": [1, false, 10.0, 10], \"label\": \"cat\"}] ```",
        boxes(box("cat", 1, 0, 10, 10)), "map"), EPS, "boolean predicted coordinates");
    assertEquals(1.0, accuracy("<answer>" + boxes(box("cat", 1, 0, 10, 10)) + "</answer>", "<answer>" + gtBool
        + "</answer>", "weighted_sum"), EPS);
    RewardSample noLabel = new RewardSample("9", boxes(box("cat", 0, 0, 10, 10)),
        "```json [{\"bbox_2d\": [0, 0, 10, 10]}] ```", null, List.of(), List.of(), "map", Map.of());
    RewardDataException e = assertThrows(RewardDataException.class, () -> new AccuracyReward().score(noLabel));
    assertTrue(e.getMessage().contains("example 9"), "a missing label is still a KeyError: " + e.getMessage());
  }

  @Test
  void recGroundTruthsThatAreJsonButNoBoxScoreZero() {
    // VLM-R1's iou_reward computes the IoU inside try/except: a ground truth it cannot use scores 0 (only
    // json.loads of the solution runs outside the try, so text that is not JSON stays a data error)
    RewardFunction iou = RecIouReward.internVl();
    String pred = "<think>t</think><answer>[1,0,10,10]</answer>";
    for (String gt : List.of("[0,0,10]", "{\"a\":1}", "[\"0\",0,10,10]", "[0,0,10,null]", "[[0],0,10,10]", "7",
        "\"abcd\"", "[]")) {
      assertEquals(0.0, iou.score(RewardSample.of(pred, "<answer>" + gt + "</answer>")), gt);
      assertEquals(0.0, iou.score(RewardSample.of(pred, gt)), "no <answer> in the solution, " + gt);
    }
    assertEquals(1.0, iou.score(RewardSample.of(pred, "<answer>[true, false, 10, 10]</answer>")), EPS, "True is 1");
    assertEquals(1.0, iou.score(RewardSample.of(pred, "<answer>[1, 0, 10, 10, 99]</answer>")), EPS, "[:4] used");
    assertThrows(RewardDataException.class, () -> iou.score(RewardSample.of(pred, "<answer>[0, 0,</answer>")));
  }

  @Test
  void repetitionOfALongPlainTextIsLinear() {
    // 300,000 words: the 6-gram list was copied per n-gram before (213 s for "a b c d e f " x 50,000)
    long seed = System.nanoTime();
    System.out.println("repetitionOfALongPlainTextIsLinear seed " + seed);
    java.util.Random rnd = new java.util.Random(seed);
    String[] vocab = {"a", "B", "c", "d"};
    StringBuilder sb = new StringBuilder();
    int n = 300_000;
    for (int i = 0; i < n; i++) {
      sb.append(vocab[rnd.nextInt(vocab.length)]).append(rnd.nextInt(8) == 0 ? "\n" : " ");
    }
    String text = sb.toString();
    String[] words = text.toLowerCase(java.util.Locale.ROOT).trim().split("\\s+");
    java.util.Set<String> grams = new java.util.HashSet<>();
    for (int k = 0; k + 6 <= words.length; k++) {
      grams.add(String.join(" ", java.util.Arrays.copyOfRange(words, k, k + 6)));
    }
    double expected = -(1.0 - (double) grams.size() / (words.length - 5));
    assertEquals(expected, new RepetitionReward().score(RewardSample.of(text, "")), EPS);
    assertEquals(-(1.0 - 6.0 / (n - 5)), new RepetitionReward().score(RewardSample.of("a b c d e f ".repeat(n / 6),
        "")), EPS, "the reviewer's case");
  }
}
