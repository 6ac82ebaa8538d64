// InternVL's conversation templates (OpenGVLab's conversation.py, MPT separator style): internvl2_5 (InternVL2.5 /
// InternVL3) and the ChatML-shaped Hermes-2 / internlm2-chat of InternVL2-era checkpoints.
package org.vlmr1.module.internvl;

import java.util.ArrayList;
import java.util.List;
import org.vlmr1.module.Conversation;
import org.vlmr1.util.Json;

/**
 * One template: {@code system_template.format(system_message) + sep}, then {@code role + message + sep} per message,
 * and the bare assistant role for the generation prompt.
 *
 * @param sep the separator after every turn; its stripped form is the EOS token (VLM-R1's get_eos_token_id)
 */
public record InternVlTemplate(String name, String systemMessage, String sep) {
  static final String USER = "<|im_start|>user\n";
  static final String ASSISTANT = "<|im_start|>assistant\n";
  private static final String INTERNVL2_5_SYSTEM =
      "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。";
  private static final String INTERNVL2_SYSTEM =
      "你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, 是一个有用无害的人工智能助手。";

  /** The template named by config.json's {@code template}. */
  public static InternVlTemplate named(String name) {
    switch (name) {
      case "internvl2_5": return new InternVlTemplate(name, INTERNVL2_5_SYSTEM, "<|im_end|>\n");
      case "Hermes-2":
      case "internlm2-chat": return new InternVlTemplate(name, INTERNVL2_SYSTEM, "<|im_end|>");
      default: throw new IllegalArgumentException("template '" + Json.shortened(name) + "' is not supported "
          + "(supported: internvl2_5, Hermes-2, internlm2-chat)");
    }
  }

  /** The stop token's text: the separator stripped ({@code <|im_end|>}). */
  public String eosToken() {
    return sep.strip();
  }

  /**
   * VLM-R1's InvernVLModule.prepare_prompt: a leading system message replaces the default one; each message's content
   * becomes a string (an image item is {@code "<image>\n"}, text items as given, in order); roles alternate user,
   * assistant by position; an odd count ends with the assistant role awaiting generation.
   */
  public String render(Conversation c) {
    List<Conversation.Message> msgs = new ArrayList<>(c.messages());
    String system = systemMessage;
    if (!msgs.isEmpty() && msgs.get(0).role().equals("system")) {
      system = flatten(msgs.remove(0));
    }
    StringBuilder sb = new StringBuilder("<|im_start|>system\n").append(system).append(sep);
    for (int i = 0; i < msgs.size(); i++) {
      String text = flatten(msgs.get(i));
      String role = i % 2 == 0 ? USER : ASSISTANT;
      if (text.isEmpty()) {
        sb.append(role); // MPT style: an empty message renders its role alone
      } else {
        sb.append(role).append(text).append(sep);
      }
    }
    if (msgs.size() % 2 == 1) {
      sb.append(ASSISTANT);
    }
    return sb.toString();
  }

  private static String flatten(Conversation.Message m) {
    StringBuilder sb = new StringBuilder();
    for (Conversation.Content item : m.content()) {
      if (item instanceof Conversation.Image) {
        sb.append("<image>\n");
      } else {
        sb.append(((Conversation.Text) item).text());
      }
    }
    return sb.toString();
  }
}
