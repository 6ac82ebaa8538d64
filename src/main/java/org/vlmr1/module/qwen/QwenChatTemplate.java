// The Qwen2-VL / Qwen2.5-VL chat template (chat_template.json), rendered exactly: ARCHITECTURES.md A4.
package org.vlmr1.module.qwen;

import org.vlmr1.module.Conversation;

/**
 * Renders the template without a Jinja engine: a default system turn unless the first message is a system message,
 * one {@code <|vision_start|><|image_pad|><|vision_end|>} per image item, text items verbatim, {@code <|im_end|>\n}
 * after each message, and {@code <|im_start|>assistant\n} as the generation prompt.
 *
 * <p>Example: one user message [image, "Find the cat."] renders as
 * {@code <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|>
 * <|vision_end|>Find the cat.<|im_end|>\n<|im_start|>assistant\n} (without the line break inside the pads).
 */
public final class QwenChatTemplate {
  public static final String DEFAULT_SYSTEM = "You are a helpful assistant.";
  public static final String IMAGE = "<|vision_start|><|image_pad|><|vision_end|>";

  private QwenChatTemplate() {}

  public static String render(Conversation conv, boolean addGenerationPrompt) {
    StringBuilder sb = new StringBuilder();
    boolean first = true;
    for (Conversation.Message m : conv.messages()) {
      if (first && !m.role().equals("system")) {
        sb.append("<|im_start|>system\n").append(DEFAULT_SYSTEM).append("<|im_end|>\n");
      }
      first = false;
      sb.append("<|im_start|>").append(m.role()).append('\n');
      for (Conversation.Content c : m.content()) {
        if (c instanceof Conversation.Image) {
          sb.append(IMAGE);
        } else {
          sb.append(((Conversation.Text) c).text());
        }
      }
      sb.append("<|im_end|>\n");
    }
    if (addGenerationPrompt) {
      sb.append("<|im_start|>assistant\n");
    }
    return sb.toString();
  }
}
