// VLM-R1's detection accuracies: map / od_ap / od_ap50 / odLength (COCO AP, VLM-R1-SPEC.md 3.4) and weighted_sum
// (detection_score, 3.5). Boxes come as ```json [{"bbox_2d": [x1, y1, x2, y2], "label": "..."}] ``` blocks.
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import org.vlmr1.util.Json;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Detection rewards, rule for rule as grpo_jsonl.py computes them. */
public final class DetectionRewards {
  private DetectionRewards() {}

  private static final Pattern JSON_BLOCK = PyText.compile("```json(.*?)```", true);

  static Optional<String> lastJsonBlock(String text) {
    Matcher m = JSON_BLOCK.matcher(text);
    String last = null;
    while (m.find()) {
      last = m.group(1);
    }
    return Optional.ofNullable(last).map(PyText::strip);
  }

  static Optional<String> firstJsonBlock(String text) {
    Matcher m = JSON_BLOCK.matcher(text);
    return m.find() ? Optional.of(PyText.strip(m.group(1))) : Optional.empty();
  }

  /** {@code [item for item in json.loads(text)]}: list items, dict keys, string characters; null when not iterable. */
  static List<Object> items(Object parsed) {
    if (parsed instanceof List<?> l) {
      return new ArrayList<>(l);
    }
    if (parsed instanceof Map<?, ?> m) {
      return new ArrayList<>(m.keySet());
    }
    if (parsed instanceof String s) {
      List<Object> chars = new ArrayList<>();
      s.codePoints().forEach(cp -> chars.add(new String(Character.toChars(cp))));
      return chars;
    }
    return null;
  }

  /** The ground-truth items of a solution's JSON text; malformed ground truth is a data error. */
  static List<Object> groundTruthItems(RewardSample s, String reward, String json) {
    Object parsed;
    try {
      parsed = Json.parse(json);
    } catch (IllegalArgumentException e) {
      throw new RewardDataException(s, reward, "the solution's ```json block is malformed: " + e.getMessage(), e);
    }
    List<Object> items = items(parsed);
    if (items == null) {
      throw new RewardDataException(s, reward, "the solution's ```json block is not a list of boxes");
    }
    return items;
  }

  /** The predicted items; anything unparseable is no prediction. */
  static List<Object> predictedItems(String json) {
    try {
      List<Object> items = items(Json.parse(json));
      return items == null ? List.of() : items;
    } catch (IllegalArgumentException e) {
      return List.of();
    }
  }

  /** {x1, y1, x2, y2} of an item's bbox_2d, or null where Python would raise. */
  static double[] bbox(Object item) {
    if (!(item instanceof Map<?, ?> m) || !(m.get("bbox_2d") instanceof List<?> b) || b.size() < 4) {
      return null;
    }
    double[] v = new double[4];
    for (int i = 0; i < 4; i++) {
      Double x = number(b.get(i));
      if (x == null) {
        return null;
      }
      v[i] = x;
    }
    return v;
  }

  /**
   * {x1, y1, x2, y2} of an item's bbox_2d when all four are Python ints (JSON integers or booleans), else null: then
   * Python's IoU is exact integer arithmetic ({@link BoxIou#iouOfInts}).
   */
  static BigInteger[] intBox(Object item) {
    return item instanceof Map<?, ?> m ? intCoordinates(m.get("bbox_2d")) : null;
  }

  /** The first four values of a JSON list when all are Python ints (bool included), exactly; else null. */
  static BigInteger[] intCoordinates(Object list) {
    if (!(list instanceof List<?> b) || b.size() < 4) {
      return null;
    }
    BigInteger[] v = new BigInteger[4];
    for (int i = 0; i < 4; i++) {
      v[i] = pythonInt(b.get(i));
      if (v[i] == null) {
        return null;
      }
    }
    return v;
  }

  /** A JSON value that is a Python int (bool included), exactly; null for floats and non-numbers. */
  static BigInteger pythonInt(Object v) {
    if (v instanceof Boolean b) {
      return b ? BigInteger.ONE : BigInteger.ZERO;
    }
    if (v instanceof Long l) {
      return BigInteger.valueOf(l);
    }
    return v instanceof BigInteger b ? b : null;
  }

  /** A JSON value as Python arithmetic sees it (bool is an int: True is 1), or null when it is not a number. */
  static Double number(Object v) {
    if (v instanceof Boolean b) {
      return b ? 1.0 : 0.0;
    }
    return v instanceof Number n ? n.doubleValue() : null;
  }

  /**
   * The stripped text of a ```json block, or empty when there is none or it is blank: VLM-R1 tests
   * {@code if bbox_json:}, so an empty block is an empty list, not a parse error.
   */
  private static Optional<String> nonBlank(Optional<String> block) {
    return block.filter(b -> !b.isEmpty());
  }

  // ---------------------------------------------------------------- COCO AP: map, od_ap, od_ap50, odLength

  /**
   * map_reward: COCO AP of the last ```json block of {@code content} against the last one of {@code sol}; both lists
   * empty gives 1, exactly one empty gives 0. With {@code lengthPenalty} (odLength) the score is multiplied by
   * |gt| / |pred| when there are more predictions than ground-truth boxes.
   */
  static double mapReward(RewardSample s, String content, String sol, boolean lengthPenalty, boolean ap50) {
    List<Object> gt = nonBlank(lastJsonBlock(sol)).map(j -> groundTruthItems(s, "accuracy (map)", j))
        .orElse(List.of());
    List<Object> pred = lastJsonBlock(content).map(DetectionRewards::predictedItems).orElse(List.of());
    double reward;
    if (!pred.isEmpty() && !gt.isEmpty()) {
      reward = CocoMap.ap(predictedBoxes(pred), groundTruthBoxes(s, gt), ap50);
    } else {
      reward = pred.isEmpty() && gt.isEmpty() ? 1.0 : 0.0;
    }
    if (lengthPenalty && gt.size() < pred.size()) {
      reward *= (double) gt.size() / pred.size();
    }
    return reward;
  }

  private static List<CocoMap.Box> groundTruthBoxes(RewardSample s, List<Object> items) {
    List<CocoMap.Box> out = new ArrayList<>();
    for (Object item : items) {
      double[] b = bbox(item);
      // a null label is a category like any other (Python's None is a valid dict key); a missing one, or a list or
      // object (unhashable in Python), is a data error
      Object label = item instanceof Map<?, ?> m ? m.get("label") : null;
      boolean hasLabel = item instanceof Map<?, ?> m && m.containsKey("label");
      if (b == null || !hasLabel || label instanceof List || label instanceof Map) {
        throw new RewardDataException(s, "accuracy (map)", "ground-truth item " + Json.write(item)
            + " needs a numeric bbox_2d [x1, y1, x2, y2] and a label");
      }
      out.add(new CocoMap.Box(b[0], b[1], b[2], b[3], label));
    }
    return out;
  }

  /** Predictions that Python's calculate_map would keep (the others raise inside its try and are dropped). */
  private static List<CocoMap.Box> predictedBoxes(List<Object> items) {
    List<CocoMap.Box> out = new ArrayList<>();
    for (Object item : items) {
      double[] b = bbox(item);
      if (b != null && item instanceof Map<?, ?> m && m.containsKey("label")) {
        Object label = m.get("label");
        if (!(label instanceof List) && !(label instanceof Map)) {
          out.add(new CocoMap.Box(b[0], b[1], b[2], b[3], label));
        }
      }
    }
    return out;
  }

  /**
   * od_reward / odLength_reward: the first {@code <answer>} of the solution and the last of the completion; no
   * predicted answer gives 0, both exactly "None" gives 1, else {@link #mapReward} on the two answers.
   */
  static double odReward(RewardSample s, boolean lengthPenalty, boolean ap50) {
    Optional<String> truth = AnswerText.firstAnswer(s.solution(), true).map(PyText::strip);
    Optional<String> student = AnswerText.lastAnswer(s.completion(), true).map(PyText::strip);
    if (student.isEmpty()) {
      return 0.0;
    }
    if (truth.isEmpty()) {
      throw new RewardDataException(s, "accuracy (od)", "the solution has no <answer> block");
    }
    if (truth.get().equals("None") && student.get().equals("None")) {
      return 1.0;
    }
    return mapReward(s, student.get(), truth.get(), lengthPenalty, ap50);
  }

  // ---------------------------------------------------------------- weighted_sum (detection_score)

  /**
   * accuracy_reward's weighted_sum branch: clean_text both; a solution of "none" scores 1 when the completion is
   * "none" too, else 0; otherwise detection_score.
   */
  static double weightedSum(RewardSample s) {
    String content = AnswerText.clean(s.completion());
    String sol = AnswerText.clean(s.solution());
    if (sol.equals("none")) {
      return content.equals("none") ? 1.0 : 0.0;
    }
    return detectionScore(s, content, sol);
  }

  /**
   * detection_score with iou_threshold 0.5, alpha 0.7, beta 0, gamma 0.3: greedy matching by the global highest
   * IoU (first pair wins ties), a label mismatch consumes the pair with IoU 0, then
   * {@code (0.7 * sum(IoU)/|gt| + 0.3 * (1 - (miss + false_alarm)/2)) / 1.0}. Fixed VLM-R1 bug: a prediction
   * without a label compares as the empty label (VLM-R1 reuses the previous pair's label there).
   */
  static double detectionScore(RewardSample s, String content, String sol) {
    List<Object> pred = firstJsonBlock(AnswerText.clean(content)).map(DetectionRewards::predictedItems)
        .orElse(List.of());
    List<Object> gt = nonBlank(firstJsonBlock(AnswerText.clean(sol)))
        .map(j -> groundTruthItems(s, "accuracy (weighted_sum)", j)).orElse(List.of());
    final double iouThreshold = 0.5;
    final double alpha = 0.7;
    final double beta = 0.0;
    final double gamma = 0.3;
    if (gt.isEmpty()) {
      return pred.isEmpty() ? 1.0 : 0.0;
    }
    if (pred.isEmpty()) {
      return 0.0;
    }
    double[][] iou = new double[pred.size()][gt.size()];
    for (int p = 0; p < pred.size(); p++) {
      for (int g = 0; g < gt.size(); g++) {
        BigInteger[] ia = intBox(pred.get(p));
        BigInteger[] ib = intBox(gt.get(g));
        if (ia != null && ib != null) {
          iou[p][g] = BoxIou.iouOfIntsOrZero(ia, ib);
          continue;
        }
        double[] a = bbox(pred.get(p));
        double[] b = bbox(gt.get(g));
        iou[p][g] = a == null || b == null ? 0.0 : BoxIou.iouOrZero(a, b);
      }
    }
    List<Integer> unmatchedPred = new ArrayList<>();
    List<Integer> unmatchedGt = new ArrayList<>();
    for (int i = 0; i < pred.size(); i++) {
      unmatchedPred.add(i);
    }
    for (int i = 0; i < gt.size(); i++) {
      unmatchedGt.add(i);
    }
    double iouSum = 0;
    int labelsCorrect = 0;
    int matches = 0;
    while (!unmatchedPred.isEmpty() && !unmatchedGt.isEmpty()) {
      double max = -1;
      int bp = -1;
      int bg = -1;
      for (int p : unmatchedPred) {
        for (int g : unmatchedGt) {
          if (iou[p][g] > max) {
            max = iou[p][g];
            bp = p;
            bg = g;
          }
        }
      }
      if (max < iouThreshold) {
        break;
      }
      boolean labelOk = label(pred.get(bp)).equals(label(gt.get(bg)));
      matches++;
      if (labelOk) {
        labelsCorrect++;
        iouSum += max;
      }
      unmatchedPred.remove(Integer.valueOf(bp));
      unmatchedGt.remove(Integer.valueOf(bg));
    }
    double position = matches > 0 ? iouSum / gt.size() : 0.0;
    double labelScore = matches > 0 ? (double) labelsCorrect / gt.size() : 0.0;
    double miss = (double) unmatchedGt.size() / gt.size();
    double falseAlarm = (double) unmatchedPred.size() / pred.size();
    double completeness = 1.0 - (miss + falseAlarm) / 2.0;
    return (alpha * position + beta * labelScore + gamma * completeness) / (alpha + beta + gamma);
  }

  /** An item's lower-cased string label, or "" when it has none (the fixed bug). */
  private static String label(Object item) {
    if (item instanceof Map<?, ?> m && m.get("label") instanceof String l) {
      return PyText.lower(l);
    }
    return "";
  }
}
