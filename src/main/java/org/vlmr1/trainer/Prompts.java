// The prompt side of an example, shared by the GRPO trainer, the SFT warm start and the evaluator: VLM-R1's user turn
// (images first, then the task's question template around the problem) and the example's decoded images.
package org.vlmr1.trainer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.vlmr1.data.Example;
import org.vlmr1.data.RgbImage;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.VlmModule;

/** Conversations and images of examples. */
public final class Prompts {
  private Prompts() {}

  public static List<Conversation> conversations(VlmModule module, List<Example> examples, String taskType) {
    return conversations(module, examples, taskType, new boolean[examples.size()]);
  }

  /**
   * @param withoutImages rows rendered as text-only prompts (their images failed to decode, --on_bad_sample skip):
   *     every family takes text-only rows beside image rows, so the batch keeps its shape
   */
  static List<Conversation> conversations(VlmModule module, List<Example> examples, String taskType,
      boolean[] withoutImages) {
    String template = module.questionTemplate(taskType);
    List<Conversation> out = new ArrayList<>(examples.size());
    for (int i = 0; i < examples.size(); i++) {
      Example e = examples.get(i);
      out.add(Conversation.userTurn(withoutImages[i] ? 0 : e.images().size(),
          template.replace("{Question}", e.problem())));
    }
    return out;
  }

  public static List<List<RgbImage>> images(List<Example> examples) {
    List<List<RgbImage>> out = new ArrayList<>(examples.size());
    for (Example e : examples) {
      List<RgbImage> im = new ArrayList<>();
      for (Path p : e.images()) {
        try {
          im.add(RgbImage.read(p));
        } catch (IOException ex) {
          throw new UncheckedIOException(e.where() + ": image " + p + " cannot be decoded: " + ex.getMessage(), ex);
        }
      }
      out.add(im);
    }
    return out;
  }
}
