// The toy family's module (issue 13's third family): chat template, toy image processor (nearest-neighbour resize
// to --toy_image_side, 8x8 patches), ids, and the contract's answers. Built from org.vlmr1.module parts only.
package org.vlmr1.toyfamily;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.Batches;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.FamilyFacts;
import org.vlmr1.module.HfTokenizer;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.ProcessingKeyword;
import org.vlmr1.module.TokenizedModule;
import org.vlmr1.util.JsonConfig;

/** The toy family. */
public final class ToyVlModule extends TokenizedModule {
  static final String IMAGE = "<|image_pad|>";
  static final List<ProcessingKeyword> PROCESSING_KEYWORDS = List.of(new ProcessingKeyword("image_processor",
      "toy_image_side", "toy: the side images are resized to (a multiple of 8; default 16)"));
  static final FamilyFacts FACTS = new FamilyFacts("toy", ToyVlModel.class, List.of("vision."),
      List.of("pixel_values"), List.of(), PROCESSING_KEYWORDS, false);

  private final long imageTokenId;
  private final int side;

  private ToyVlModule(HfTokenizer tok, long eos, long pad, long imageTokenId, int side) {
    super(FACTS, tok, new long[] {eos}, pad, (f, t) -> {
      throw new IllegalArgumentException("the toy family has no module rewards");
    });
    this.imageTokenId = imageTokenId;
    this.side = side;
  }

  /** The module for a toy checkpoint: tokenizer.json (Qwen's vocabulary), config.json's image_token_id. */
  public static ToyVlModule create(Path checkpoint, ModuleOptions o) throws IOException {
    HfTokenizer tok = tokenizerFor(checkpoint, o);
    long image = JsonConfig.read(checkpoint.resolve("config.json")).requireLong("image_token_id");
    Long side = o.processingLong("toy_image_side");
    if (side != null && (side < 8 || side % 8 != 0)) {
      throw new IllegalArgumentException("toy_image_side must be a positive multiple of 8, got " + side);
    }
    return new ToyVlModule(tok, HfTokenizer.singleId(tok, "<|im_end|>"), HfTokenizer.singleId(tok, "<|endoftext|>"),
        image, side == null ? 16 : Math.toIntExact(side));
  }

  int side() {
    return side;
  }

  @Override
  public void postModelInit(VlmModel model) {}

  @Override
  public String questionTemplate(String taskType) {
    return "{Question}";
  }

  @Override
  protected String renderPrompt(Conversation c) {
    StringBuilder sb = new StringBuilder();
    for (Conversation.Message m : c.messages()) {
      sb.append("<|im_start|>").append(m.role()).append('\n');
      for (Conversation.Content part : m.content()) {
        sb.append(part instanceof Conversation.Text t ? t.text() : IMAGE);
      }
      sb.append("<|im_end|>\n");
    }
    return sb.append("<|im_start|>assistant\n").toString();
  }

  @Override
  public ModelInputs prepareModelInputs(List<String> prompts, List<List<RgbImage>> images) {
    int perImage = (side / ToyVlModel.PATCH) * (side / ToyVlModel.PATCH);
    List<long[]> rows = new ArrayList<>();
    List<float[]> patches = new ArrayList<>();
    List<ModelInputs.ExampleVision> perExample = new ArrayList<>();
    for (int e = 0; e < prompts.size(); e++) {
      String[] pieces = prompts.get(e).split(java.util.regex.Pattern.quote(IMAGE), -1);
      if (pieces.length - 1 != images.get(e).size()) {
        throw new IllegalArgumentException("toy: example " + e + " has " + (pieces.length - 1) + " image "
            + "placeholders for " + images.get(e).size() + " images");
      }
      List<Long> ids = new ArrayList<>();
      for (int k = 0; k < pieces.length; k++) {
        for (long id : tokenizer().encode(pieces[k])) {
          ids.add(id);
        }
        if (k < pieces.length - 1) {
          for (int t = 0; t < perImage; t++) {
            ids.add(imageTokenId);
          }
          patches.addAll(patches(images.get(e).get(k)));
        }
      }
      rows.add(ids.stream().mapToLong(Long::longValue).toArray());
      perExample.add(new ModelInputs.ExampleVision(List.of()));
    }
    Batches.Padded p = Batches.leftPad(rows, padTokenId());
    float[] flat = new float[patches.size() * 3 * ToyVlModel.PATCH * ToyVlModel.PATCH];
    for (int i = 0; i < patches.size(); i++) {
      System.arraycopy(patches.get(i), 0, flat, i * patches.get(i).length, patches.get(i).length);
    }
    Map<String, org.bytedeco.pytorch.Tensor> mm = patches.isEmpty() ? Map.of()
        : Map.of("pixel_values", torch.tensor(flat).reshape(patches.size(), 3L * ToyVlModel.PATCH * ToyVlModel.PATCH));
    return new ModelInputs(p.inputIds(), p.attentionMask(), mm, perExample);
  }

  /** Nearest-neighbour resize to side x side, then 8x8 patches row-major, channels first, values in [-1, 1]. */
  private List<float[]> patches(RgbImage img) {
    int n = ToyVlModel.PATCH;
    List<float[]> out = new ArrayList<>();
    for (int py = 0; py < side / n; py++) {
      for (int px = 0; px < side / n; px++) {
        float[] v = new float[3 * n * n];
        for (int c = 0; c < 3; c++) {
          for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
              int sx = (px * n + x) * img.width() / side;
              int sy = (py * n + y) * img.height() / side;
              v[(c * n + y) * n + x] = img.get(sx, sy, c) / 127.5f - 1f;
            }
          }
        }
        out.add(v);
      }
    }
    return out;
  }
}
