// Counts the tokens of a completion for length-shaped rewards (VLM-R1's tokenizer.encode(content)).
package org.vlmr1.reward;

/** A tokenizer's token count of a text, without special tokens added. Implementations are thread-safe. */
@FunctionalInterface
public interface TokenCounter {
  int count(String text);
}
