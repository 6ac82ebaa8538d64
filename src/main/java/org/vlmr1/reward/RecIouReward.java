// The REC accuracy reward of the VLM modules (--is_reward_customized_from_vlm_module, task rec): the IoU of the
// predicted box with the ground truth (VLM-R1-SPEC.md 1.2 iou_reward, 1.3 for InternVL).
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import org.vlmr1.util.Json;
import java.io.IOException;
import java.math.BigInteger;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vlmr1.util.InputFrame;

/**
 * Continuous IoU reward for referring-expression comprehension.
 *
 * <ul>
 *   <li>Ground truth: the last {@code <answer>} block of the solution (the whole solution when it has none), parsed as
 *       JSON {@code [x1, y1, x2, y2]} in original-image pixels. A solution that is not JSON is a data error
 *       (VLM-R1's json.loads runs outside its try); JSON that is not four numbers ({@code [0, 0, 10]},
 *       {@code {"a": 1}}, {@code ["0", 0, 10, 10]}) scores 0, as VLM-R1's IoU fails inside its try/except. Booleans
 *       count as 1 and 0, as in Python.
 *   <li>Prediction: the first {@code <answer>} block of the completion, stripped, and in it the first
 *       {@code [int, int, int, int]} ({@code \[(\d+),\s*(\d+),\s*(\d+),\s*(\d+)]}: no decimals, no signs).
 *   <li>Qwen ({@code rescale}): Qwen2.5-VL answers in the resized input frame, so x is scaled by
 *       {@code W / (grid.w*14)} and y by {@code H / (grid.h*14)} with the first image's original size W x H and
 *       this example's {@code image_grid_thw}. InternVL: no rescaling (its annotations use InternVL's frame).
 *   <li>Reward: {@link BoxIou#iou} of the two boxes; 0 when there is no box or the union is empty.
 * </ul>
 *
 * <p>Example (InternVL): completion {@code "<think>..</think><answer>[0,0,10,10]</answer>"}, solution
 * {@code "<answer>[5,5,15,15]</answer>"} scores 25/175 = 0.142857.
 *
 * <p>Deliberate difference: VLM-R1 takes the grid of the i-th image of the batch (one per image, wrong for
 * multi-image examples); here the grid is the example's own first image's.
 */
public final class RecIouReward implements RewardFunction {
  private static final Pattern BOX = PyText.compile("\\[(\\d+),\\s*(\\d+),\\s*(\\d+),\\s*(\\d+)]", false);
  private final boolean rescale;

  private RecIouReward(boolean rescale) {
    this.rescale = rescale;
  }

  /** Qwen2-VL / Qwen2.5-VL: boxes rescaled from the resized input frame to the original image. */
  public static RecIouReward qwen() {
    return new RecIouReward(true);
  }

  /** InternVL: boxes compared as given. */
  public static RecIouReward internVl() {
    return new RecIouReward(false);
  }

  @Override
  public String name() {
    return "accuracy";
  }

  @Override
  public double score(RewardSample s) {
    double[] truth = groundTruth(s);
    double[] scale = rescale ? scale(s) : new double[] {1, 1}; // VLM-R1 opens the image before its try, too
    if (truth == null) {
      return 0;
    }
    Optional<String> answer = AnswerText.firstAnswer(s.completion(), true);
    if (answer.isEmpty()) {
      return 0;
    }
    Matcher m = BOX.matcher(PyText.strip(answer.get()));
    if (!m.find()) {
      return 0;
    }
    if (!rescale) {
      BigInteger[] truthInts = groundTruthInts(s);
      if (truthInts != null) { // all ints on both sides: Python's IoU is exact integer arithmetic
        BigInteger[] ints = new BigInteger[4];
        for (int i = 0; i < 4; i++) {
          ints[i] = new BigInteger(PyText.asciiDigits(m.group(i + 1)));
        }
        return BoxIou.iouOfIntsOrZero(ints, truthInts);
      }
    }
    double[] box = new double[4];
    for (int i = 0; i < 4; i++) {
      long exact = PyText.parseDigits(m.group(i + 1));
      // Python ints are unbounded: a huge coordinate still gives a (tiny) IoU, computed in floats as Python does
      double v = exact >= 0 ? exact : new java.math.BigDecimal(PyText.asciiDigits(m.group(i + 1))).doubleValue();
      // resize_bbox: x / input_width * image_width, in that order
      box[i] = rescale ? v / scale[i % 2 == 0 ? 0 : 1] * scale[i % 2 == 0 ? 2 : 3] : v;
    }
    return BoxIou.iouOrZero(box, truth);
  }

  /** {input_w, input_h, image_w, image_h} for the rescale. */
  private double[] scale(RewardSample s) {
    List<InputFrame> frames = s.inputFrames();
    if (frames.isEmpty() || s.imagePaths().isEmpty()) {
      throw new RewardDataException(s, "accuracy (rec)", "the Qwen REC reward needs image_path and image_grid_thw");
    }
    InputFrame g = frames.get(0);
    int[] wh;
    try {
      wh = ImageSizes.size(s.imagePaths().get(0));
    } catch (IOException e) {
      throw new RewardDataException(s, "accuracy (rec)", "cannot read image size: " + e.getMessage(), e);
    }
    return new double[] {g.width(), g.height(), wh[0], wh[1]};
  }

  /** The ground-truth box when its four coordinates are all JSON integers (Python ints), else null. */
  private static BigInteger[] groundTruthInts(RewardSample s) {
    return DetectionRewards.intCoordinates(Json.parse(PyText.strip(AnswerText.lastAnswer(s.solution(), true)
        .orElse(s.solution()))));
  }

  /** The ground-truth box; null when the solution is JSON but not a box (VLM-R1 then scores 0). */
  static double[] groundTruth(RewardSample s) {
    String text = PyText.strip(AnswerText.lastAnswer(s.solution(), true).orElse(s.solution()));
    Object parsed;
    try {
      parsed = Json.parse(text);
    } catch (IllegalArgumentException e) {
      throw new RewardDataException(s, "accuracy (rec)", "solution is not a JSON box: " + text, e);
    }
    if (!(parsed instanceof List<?> list) || list.size() < 4) {
      return null;
    }
    double[] box = new double[4];
    for (int i = 0; i < 4; i++) {
      Double v = DetectionRewards.number(list.get(i));
      if (v == null) {
        return null;
      }
      box[i] = v;
    }
    return box;
  }
}
