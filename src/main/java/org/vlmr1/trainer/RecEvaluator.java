// VLM-R1's REC evaluation (src/eval/test_rec_r1.py): greedy generation, the box from the first <answer> block with
// braces (else [0,0,0,0]), resized from the model's input frame to the original image, correct when IoU > 0.5.
package org.vlmr1.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.vlmr1.data.Example;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.VlmModule;
import org.vlmr1.reward.AnswerText;
import org.vlmr1.reward.BoxIou;
import org.vlmr1.util.InputFrame;
import org.vlmr1.util.Json;
import org.vlmr1.util.PyText;

/** Referring-expression accuracy and mean IoU of a model on examples whose solution is a box. */
public final class RecEvaluator {
  private static final Pattern BOX = PyText.compile("\\{.*\\[(\\d+),\\s*(\\d+),\\s*(\\d+),\\s*(\\d+)]\\s*.*\\}", true);

  private RecEvaluator() {}

  /** The outcome: accuracy (IoU > 0.5) and mean IoU over the examples, and each example's result. */
  public record Result(double accuracy, double meanIou, int n, List<Sample> samples) {}

  /**
   * One example as test_rec_r1.py records it.
   *
   * @param predicted the extracted box in original-image pixels (zeros when none was found)
   */
  public record Sample(String id, List<String> images, String question, String groundTruth, String modelOutput,
      double[] predicted, double iou, boolean correct) {
    /** The JSON object of the results file. */
    public java.util.Map<String, Object> toJson() {
      java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
      m.put("id", id);
      m.put("image", images.size() == 1 ? images.get(0) : images);
      m.put("question", question);
      m.put("ground_truth", groundTruth);
      m.put("model_output", modelOutput);
      m.put("extracted_answer", java.util.Arrays.stream(predicted).boxed().toList());
      m.put("iou", iou);
      m.put("correct", correct ? 1 : 0);
      return m;
    }
  }

  public static Result evaluate(VlmModule module, VlmModel model, List<Example> examples, String taskType,
      int batchSize, int maxNewTokens, boolean rescale) {
    module.postModelInit(model);
    double iouSum = 0;
    int correct = 0;
    List<Sample> samples = new ArrayList<>();
    for (int start = 0; start < examples.size(); start += batchSize) {
      List<Example> batch = examples.subList(start, Math.min(examples.size(), start + batchSize));
      List<Conversation> conv = Prompts.conversations(module, batch, taskType);
      List<List<RgbImage>> images = Prompts.images(batch);
      try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        ModelInputs in = module.prepareModelInputs(module.preparePrompt(conv), images).to(model.device());
        VlmModel.Generation g = module.completions(model.generate(in.inputIds(), in.attentionMask(),
            module.generateInputs(in.multimodal(module.customMultimodalKeywords())),
            SamplingConfig.greedy(maxNewTokens), module.eosTokenIds(), module.padTokenId(), 0, 0),
            (int) in.inputIds().size(1));
        List<String> texts = module.decodeCompletions(g.ids(), g.mask());
        for (int i = 0; i < batch.size(); i++) {
          double[] pred = box(texts.get(i));
          if (rescale && !in.perExample().get(i).inputFrames().isEmpty()) {
            InputFrame fr = in.perExample().get(i).inputFrames().get(0);
            RgbImage im = images.get(i).get(0);
            for (int k = 0; k < 4; k++) {
              pred[k] = k % 2 == 0 ? pred[k] / fr.width() * im.width() : pred[k] / fr.height() * im.height();
            }
          }
          Example e = batch.get(i);
          double iou = BoxIou.iouOrZero(pred, truth(e));
          iouSum += iou;
          correct += iou > 0.5 ? 1 : 0;
          samples.add(new Sample(e.id(), e.images().stream().map(Object::toString).toList(), e.problem(),
              e.solution(), texts.get(i), pred, iou, iou > 0.5));
        }
      }
    }
    int n = examples.size();
    return new Result(n == 0 ? 0 : (double) correct / n, n == 0 ? 0 : iouSum / n, n, samples);
  }

  static double[] box(String completion) {
    double[] b = new double[4];
    AnswerText.firstAnswer(completion, true).ifPresent(a -> {
      Matcher m = BOX.matcher(PyText.strip(a));
      if (m.find()) {
        for (int k = 0; k < 4; k++) {
          b[k] = Double.parseDouble(PyText.asciiDigits(m.group(k + 1)));
        }
      }
    });
    return b;
  }

  static double[] truth(Example e) {
    List<?> l = (List<?>) Json.parse(e.solution());
    double[] b = new double[4];
    for (int k = 0; k < 4; k++) {
      b[k] = ((Number) l.get(k)).doubleValue();
    }
    return b;
  }
}
