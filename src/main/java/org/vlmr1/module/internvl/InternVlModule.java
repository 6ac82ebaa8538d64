// The InternVL2.5 / InternVL3 family behind the VLM module contract (VLM-R1's InvernVLModule, VLM-R1-SPEC.md 1.3):
// the internvl2_5 conversation template, dynamic tiling, <IMG_CONTEXT> expansion, left padding, image_flags, and
// the REC rewards without box rescaling.
package org.vlmr1.module.internvl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.data.RgbImage;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.FamilyFacts;
import org.vlmr1.module.HfTokenizer;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.ProcessingKeyword;
import org.vlmr1.module.TokenizedModule;
import org.vlmr1.module.VlmModule;
import org.vlmr1.reward.RewardFunction;
import org.vlmr1.reward.RecFormatReward;
import org.vlmr1.reward.RecIouReward;
import org.vlmr1.reward.Rewards;

/** InternVL's module: template, processor (tokenizer + tiles), ids and REC rewards. */
public final class InternVlModule extends TokenizedModule {
  /** VLM-R1's default max_anyres_num (its GRPO script passes 6). */
  public static final int DEFAULT_MAX_ANYRES_NUM = 12;
  private final InternVlConfig cfg;
  private final InternVlTemplate template;
  private final InternVlImageProcessor images;
  private final InternVlIds ids;

  InternVlModule(InternVlConfig cfg, InternVlTemplate template, HfTokenizer tokenizer, InternVlImageProcessor images,
      InternVlIds ids) {
    super(FACTS, tokenizer, ids.eos(), ids.pad(), InternVlModule::rewardFor);
    this.cfg = cfg;
    this.template = template;
    this.images = images;
    this.ids = ids;
  }

  /**
   * Builds the module for a checkpoint folder. max_anyres_num comes from the option, else the checkpoint's
   * max_dynamic_patch, else 12.
   */
  public static InternVlModule create(Path checkpoint, ModuleOptions o) throws IOException {
    InternVlConfig cfg = InternVlConfig.read(checkpoint);
    HfTokenizer tok = tokenizerFor(checkpoint, o);
    InternVlTemplate template = InternVlTemplate.named(cfg.template());
    Long flag = o.processingLong("max_anyres_num");
    if (flag != null && flag < 1) {
      throw new IllegalArgumentException("max_anyres_num must be >= 1, got " + flag);
    }
    String tooMany = flag == null ? null : InternVlImageProcessor.tooManyTiles("max_anyres_num", cfg.imageSize(),
        flag);
    if (tooMany != null) {
      throw new IllegalArgumentException(tooMany);
    }
    int maxNum = flag != null ? Math.toIntExact(flag) : cfg.maxDynamicPatch();
    InternVlImageProcessor proc = new InternVlImageProcessor(cfg.imageSize(), Math.min(cfg.minDynamicPatch(), maxNum),
        maxNum, cfg.useThumbnail());
    return new InternVlModule(cfg, template, tok, proc, InternVlIds.resolve(cfg, template, tok, o));
  }

  public InternVlConfig config() {
    return cfg;
  }

  public InternVlImageProcessor imageProcessor() {
    return images;
  }

  public InternVlIds ids() {
    return ids;
  }

  /**
   * Gives the model the {@code <IMG_CONTEXT>} id it scatters image features at. A null model (no reference model when
   * beta is 0) is fine: VLM-R1 crashes there.
   */
  @Override
  public void postModelInit(VlmModel model) {
    if (model instanceof InternVlModel m && ids.imgContext() >= 0) {
      m.setImageSlotId(ids.imgContext());
    }
  }

  /** InternVL's processing keyword (VLM-R1's max_anyres_num). */
  static final List<ProcessingKeyword> PROCESSING_KEYWORDS = List.of(new ProcessingKeyword("None", "max_anyres_num",
      "most tiles per image (default: config.json's max_dynamic_patch, else 12)"));

  /**
   * InternVL's answers to the contract: the vision tower is "vision_model" (mlp1 stays trainable, as in VLM-R1);
   * every pass takes pixel_values and image_flags; nothing is withheld from generation (VLM-R1 withholds image_flags;
   * our generation uses them to skip the dummy tiles of text-only rows, which lets one batch mix text-only and image
   * examples); is_embeds_input is true.
   */
  static final FamilyFacts FACTS = new FamilyFacts("internvl", InternVlModel.class, List.of("vision_model"),
      List.of("pixel_values", "image_flags"), List.of(), PROCESSING_KEYWORDS, true);

  /** VLM-R1's InternVL question template: the same for every task (no JSON sentence). */
  @Override
  public String questionTemplate(String taskType) {
    return "{Question} First output the thinking process in <think> </think> tags and then output the final answer "
        + "in <answer> </answer> tags.";
  }

  @Override
  protected String renderPrompt(Conversation example) {
    return template.render(example);
  }

  /**
   * Tiles every image, replaces the k-th {@code <image>} of a prompt by {@code <img>}, num_image_token x tiles
   * {@code <IMG_CONTEXT>} ids and {@code </img>} (ids inserted, not tokenised), and left pads. A text-only example gets
   * one white dummy tile with image_flags 0, as InternVL's data pipeline does, so every batch has pixel_values.
   */
  @Override
  public ModelInputs prepareModelInputs(List<String> prompts, List<List<RgbImage>> imagesPerExample) {
    HfTokenizer tokenizer = tokenizer();
    if (ids.imgContext() < 0 || ids.imgStart() < 0 || ids.imgEnd() < 0) {
      throw new IllegalStateException("the tokenizer lacks InternVL's <img>, </img> or <IMG_CONTEXT> tokens "
          + "(CONVENTIONS.md: the Qwen2.5 tokenizer plus InternVL's added tokens)");
    }
    if (prompts.size() != imagesPerExample.size()) {
      throw new IllegalArgumentException(prompts.size() + " prompts but " + imagesPerExample.size()
          + " image lists (one list per example, empty for text-only)");
    }
    int b = prompts.size();
    int s = images.imageSize();
    int tileFloats = 3 * s * s;
    List<long[]> rows = new ArrayList<>(b);
    List<float[]> pixels = new ArrayList<>();
    List<Long> flags = new ArrayList<>();
    List<ModelInputs.ExampleVision> vision = new ArrayList<>(b);
    for (int i = 0; i < b; i++) {
      List<RgbImage> imgs = imagesPerExample.get(i);
      int[] tiles = new int[imgs.size()];
      for (int k = 0; k < imgs.size(); k++) {
        float[] pv = images.pixelValues(imgs.get(k));
        tiles[k] = pv.length / tileFloats;
        pixels.add(pv);
        for (int t = 0; t < tiles[k]; t++) {
          flags.add(1L);
        }
      }
      if (imgs.isEmpty()) {
        pixels.add(images.dummyTile());
        flags.add(0L);
      }
      long[] row = expand(prompts.get(i), tiles, i);
      rows.add(row);
      vision.add(new ModelInputs.ExampleVision(List.of()));
    }
    org.vlmr1.module.Batches.Padded padded = org.vlmr1.module.Batches.leftPad(rows, ids.pad());
    int nTiles = flags.size();
    float[] pv = new float[nTiles * tileFloats];
    int o = 0;
    for (float[] p : pixels) {
      System.arraycopy(p, 0, pv, o, p.length);
      o += p.length;
    }
    TorchRuntime.load();
    Map<String, Tensor> mm = new LinkedHashMap<>();
    mm.put("pixel_values", torch.tensor(pv).reshape(nTiles, 3, s, s));                    // (tiles, 3, S, S)
    mm.put("image_flags", torch.tensor(flags.stream().mapToLong(Long::longValue).toArray())
        .reshape(nTiles, 1));                                                               // (tiles, 1)
    return new ModelInputs(padded.inputIds(), padded.attentionMask(), mm, vision);
  }

  /** Token ids of one prompt with its images' {@code <image>} placeholders expanded, in order. */
  long[] expand(String prompt, int[] tiles, int example) {
    List<long[]> parts = new ArrayList<>();
    int from = 0;
    for (int k = 0; k < tiles.length; k++) {
      int at = prompt.indexOf("<image>", from);
      if (at < 0) {
        throw new IllegalArgumentException("example " + example + ": the prompt has " + k + " <image> placeholders but "
            + tiles.length + " images were given");
      }
      parts.add(tokenizer().encode(prompt.substring(from, at)));
      long[] block = new long[cfg.numImageToken() * tiles[k] + 2];
      Arrays.fill(block, ids.imgContext());
      block[0] = ids.imgStart();
      block[block.length - 1] = ids.imgEnd();
      parts.add(block);
      from = at + "<image>".length();
    }
    parts.add(tokenizer().encode(prompt.substring(from)));
    int n = 0;
    for (long[] p : parts) {
      n += p.length;
    }
    long[] out = new long[n];
    int o = 0;
    for (long[] p : parts) {
      System.arraycopy(p, 0, out, o, p.length);
      o += p.length;
    }
    return out;
  }

  /** The family's REC rewards (IoU with its box convention, its format) by VLM-R1's select_reward_func rule. */
  static RewardFunction rewardFor(String func, String taskType) {
    return Rewards.rec(func, taskType, RecIouReward.internVl(), RecFormatReward.internVl());
  }
}
