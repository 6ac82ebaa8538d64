// A chat prompt in the Hugging Face messages shape VLM-R1 builds (role + list of image / text items).
package org.vlmr1.module;

import java.util.ArrayList;
import java.util.List;

/**
 * The messages of one prompt.
 *
 * @param messages in order; VLM-R1 sends one user message: all images first, then the question text
 */
public record Conversation(List<Message> messages) {
  public Conversation {
    if (messages == null || messages.isEmpty()) {
      throw new IllegalArgumentException("a conversation needs at least one message");
    }
    messages = List.copyOf(messages);
  }

  /** One message. */
  public record Message(String role, List<Content> content) {
    public Message {
      if (role == null || role.isBlank()) {
        throw new IllegalArgumentException("a message needs a role");
      }
      content = List.copyOf(content);
    }
  }

  /** A content item: an image placeholder or text. */
  public sealed interface Content permits Image, Text {}

  /** An image's place in the message (the pixels travel separately, per example). */
  public record Image() implements Content {}

  public record Text(String text) implements Content {
    public Text {
      if (text == null) {
        throw new IllegalArgumentException("text content must not be null");
      }
    }
  }

  /** VLM-R1's prompt: one user message with {@code images} image items, then the text. */
  public static Conversation userTurn(int images, String text) {
    List<Content> c = new ArrayList<>();
    for (int i = 0; i < images; i++) {
      c.add(new Image());
    }
    c.add(new Text(text));
    return new Conversation(List.of(new Message("user", c)));
  }

  /** The number of image items over all messages. */
  public int imageCount() {
    int n = 0;
    for (Message m : messages) {
      for (Content c : m.content()) {
        n += c instanceof Image ? 1 : 0;
      }
    }
    return n;
  }
}
