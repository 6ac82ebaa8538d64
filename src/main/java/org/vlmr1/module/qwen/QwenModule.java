// The Qwen2-VL / Qwen2.5-VL family behind the VLM module contract (VLM-R1's Qwen2VLModule, VLM-R1-SPEC.md 1.2).
package org.vlmr1.module.qwen;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.data.RgbImage;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.FamilyFacts;
import org.vlmr1.module.HfTokenizer;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.ProcessingKeyword;
import org.vlmr1.module.TokenizedModule;
import org.vlmr1.reward.RecFormatReward;
import org.vlmr1.reward.RecIouReward;
import org.vlmr1.reward.RewardFunction;
import org.vlmr1.reward.Rewards;
import org.vlmr1.util.InputFrame;
import org.vlmr1.util.JsonConfig;

/** Qwen's module: chat template, processor (tokenizer + images), ids, templates and REC rewards. */
public final class QwenModule extends TokenizedModule {
  private final String modelType;
  private final QwenImageProcessor images;
  private final QwenIds ids;

  QwenModule(String modelType, HfTokenizer tokenizer, QwenImageProcessor images, QwenIds ids) {
    super(FACTS, tokenizer, ids.eos(), ids.pad(), QwenModule::rewardFor);
    this.modelType = modelType;
    this.images = images;
    this.ids = ids;
  }

  /** Builds the module for a checkpoint folder (config.json; tokenizer.json and preprocessor_config.json if any). */
  public static QwenModule create(Path checkpoint, ModuleOptions o) throws IOException {
    String type = org.vlmr1.module.VlmModules.modelType(checkpoint);
    HfTokenizer tok = tokenizerFor(checkpoint, o);
    Path preFile = checkpoint.resolve("preprocessor_config.json");
    JsonConfig pre = JsonConfig.of(preFile, Files.isRegularFile(preFile) ? JsonConfig.readTree(preFile)
        : new ObjectMapper().createObjectNode());
    Long minFlag = o.processingLong("min_pixels");
    Long maxFlag = o.processingLong("max_pixels");
    long min = minFlag != null ? minFlag : pre.getLong("min_pixels", QwenImageProcessor.DEFAULT_MIN_PIXELS);
    long max = maxFlag != null ? maxFlag : pre.getLong("max_pixels", QwenImageProcessor.DEFAULT_MAX_PIXELS);
    return new QwenModule(type, tok, new QwenImageProcessor(min, max), QwenIds.resolve(checkpoint, tok, o));
  }

  public String modelType() {
    return modelType;
  }

  public QwenImageProcessor imageProcessor() {
    return images;
  }

  /**
   * Gives the model the {@code <|image_pad|>} id this module's prompts use (--image_token_id, else the tokenizer's,
   * else config.json's), so that the flag reaches the forward as it does for InternVL's {@code <IMG_CONTEXT>}.
   */
  @Override
  public void postModelInit(org.vlmr1.model.VlmModel model) {
    if (model instanceof QwenVlModel m) {
      m.setImageSlotId(ids.imagePad());
    }
  }

  /** Qwen's processing keywords (VLM-R1's: max_pixels and min_pixels of the image processor). */
  static final List<ProcessingKeyword> PROCESSING_KEYWORDS = List.of(
      new ProcessingKeyword("image_processor", "max_pixels", "most pixels per image after smart_resize (default: "
          + "preprocessor_config.json, else " + QwenImageProcessor.DEFAULT_MAX_PIXELS + ")"),
      new ProcessingKeyword("image_processor", "min_pixels", "fewest pixels per image after smart_resize (default: "
          + "preprocessor_config.json, else " + QwenImageProcessor.DEFAULT_MIN_PIXELS + ")"));

  /**
   * Qwen's answers to the contract: the vision tower is "visual"; every pass takes pixel_values and image_grid_thw
   * and generation takes them all; VLM-R1's is_embeds_input is false for Qwen (its generate returns prompt +
   * completion).
   */
  static final FamilyFacts FACTS = new FamilyFacts("qwen", QwenVlModel.class, List.of("visual"),
      List.of("pixel_values", "image_grid_thw"), List.of(), PROCESSING_KEYWORDS, false);

  /** VLM-R1's Qwen2VLModule.get_question_template. */
  @Override
  public String questionTemplate(String taskType) {
    String t = taskType == null ? "" : taskType;
    switch (t) {
      case "rec":
        return "{Question} First output the thinking process in <think> </think> tags and then output the final "
            + "answer in <answer> </answer> tags. Output the final answer in JSON format.";
      case "ic":
        return "{Question} First thinks about the reasoning process in the mind and then provides the user with the "
            + "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
            + "tags, respectively, i.e., <think> reasoning process here </think><answer> json format answer here "
            + "</answer>";
      case "odLength":
        return "First thinks about the reasoning process in the mind and then provides the user with the answer. The "
            + "reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
            + "respectively, i.e., <think> reasoning process here </think><answer> answer here </answer>\n{Question}";
      default:
        return "{Question} First output the thinking process in <think> </think> tags and then output the final "
            + "answer in <answer> </answer> tags.";
    }
  }

  @Override
  protected String renderPrompt(Conversation example) {
    return QwenChatTemplate.render(example, true);
  }

  @Override
  public ModelInputs prepareModelInputs(List<String> prompts, List<List<RgbImage>> imagesPerExample) {
    HfTokenizer tokenizer = tokenizer();
    if (prompts.size() != imagesPerExample.size()) {
      throw new IllegalArgumentException(prompts.size() + " prompts but " + imagesPerExample.size()
          + " image lists (one list per example, empty for text-only)");
    }
    int b = prompts.size();
    List<long[]> rows = new ArrayList<>(b);
    List<ModelInputs.ExampleVision> vision = new ArrayList<>(b);
    List<float[]> pixels = new ArrayList<>();
    List<GridThw> grids = new ArrayList<>();
    for (int i = 0; i < b; i++) {
      long[] text = tokenizer.encode(prompts.get(i));
      List<QwenImageProcessor.Processed> processed = images.process(imagesPerExample.get(i));
      long[] row = expandImagePads(text, processed, i);
      rows.add(row);
      List<InputFrame> frames = new ArrayList<>();
      for (QwenImageProcessor.Processed p : processed) {
        pixels.add(p.pixelValues());
        grids.add(p.grid());
        frames.add(p.grid().inputFrame());
      }
      vision.add(new ModelInputs.ExampleVision(frames));
    }
    org.vlmr1.module.Batches.Padded padded = org.vlmr1.module.Batches.leftPad(rows, ids.pad());
    Map<String, Tensor> mm = new LinkedHashMap<>();
    int nRows = 0;
    for (float[] p : pixels) {
      nRows += p.length / QwenImageProcessor.ROW;
    }
    float[] pv = new float[nRows * QwenImageProcessor.ROW];
    int o = 0;
    for (float[] p : pixels) {
      System.arraycopy(p, 0, pv, o, p.length);
      o += p.length;
    }
    mm.put("pixel_values", torch.tensor(pv).reshape(nRows, QwenImageProcessor.ROW));          // (sum thw, 1176)
    mm.put("image_grid_thw", GridThw.tensor(grids));                                        // (images, 3)
    return new ModelInputs(padded.inputIds(), padded.attentionMask(), mm, vision);
  }

  /** Each {@code <|image_pad|>} id, in order, becomes that image's t*h*w/4 pad ids (inserted, not tokenised). */
  long[] expandImagePads(long[] text, List<QwenImageProcessor.Processed> processed, int example) {
    int pads = 0;
    long extra = 0;
    for (long id : text) {
      if (id == ids.imagePad()) {
        pads++;
      }
    }
    if (pads != processed.size()) {
      throw new IllegalArgumentException("example " + example + ": the prompt has " + pads + " <|image_pad|> but "
          + processed.size() + " images were given");
    }
    for (QwenImageProcessor.Processed p : processed) {
      extra += p.imageTokens() - 1;
    }
    long[] out = new long[Math.toIntExact(text.length + extra)];
    int o = 0;
    int img = 0;
    for (long id : text) {
      if (id == ids.imagePad()) {
        long n = processed.get(img++).imageTokens();
        for (long k = 0; k < n; k++) {
          out[o++] = id;
        }
      } else {
        out[o++] = id;
      }
    }
    return out;
  }

  /** The family's REC rewards (IoU with its box convention, its format) by VLM-R1's select_reward_func rule. */
  static RewardFunction rewardFor(String func, String taskType) {
    return Rewards.rec(func, taskType, RecIouReward.qwen(), RecFormatReward.qwen());
  }
}
