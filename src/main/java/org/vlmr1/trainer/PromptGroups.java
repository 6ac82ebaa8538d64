// Which rows of a generation slice are the same prompt: GRPO's G completions of an example arrive as G equal rows
// (the sampler repeats each example G times), and the engine prefills each distinct prompt once (issue 15).
package org.vlmr1.trainer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.Generator;

/**
 * The distinct prompts of a batch of rows, in order of first appearance, and each row's prompt.
 *
 * @param distinct the row index of each distinct prompt's first appearance (P entries)
 * @param rowPrompt each row's prompt, an index into {@code distinct} (B entries)
 */
record PromptGroups(int[] distinct, int[] rowPrompt) {
  /**
   * Groups rows whose rendered prompt text and images are the same: the images compare as the same decoded objects
   * (the image decoder decodes each file once per batch), so two files with equal pixels stay apart, which costs
   * a prefill and never changes a token.
   */
  static PromptGroups of(List<String> prompts, List<List<RgbImage>> images) {
    Map<Key, Integer> seen = new HashMap<>();
    List<Integer> first = new ArrayList<>();
    int[] rowPrompt = new int[prompts.size()];
    for (int r = 0; r < prompts.size(); r++) {
      Key k = new Key(prompts.get(r), identities(images.get(r)));
      Integer p = seen.get(k);
      if (p == null) {
        p = first.size();
        seen.put(k, p);
        first.add(r);
      }
      rowPrompt[r] = p;
    }
    return new PromptGroups(first.stream().mapToInt(Integer::intValue).toArray(), rowPrompt);
  }

  /** One prompt per row (no sharing). */
  static PromptGroups perRow(int rows) {
    return new PromptGroups(Generator.identity(rows), Generator.identity(rows));
  }

  /** Whether every row is its own prompt. */
  boolean allDistinct() {
    return distinct.length == rowPrompt.length;
  }

  /** The elements of {@code rows} at the distinct prompts' rows. */
  <T> List<T> pick(List<T> rows) {
    List<T> out = new ArrayList<>(distinct.length);
    for (int r : distinct) {
      out.add(rows.get(r));
    }
    return out;
  }

  private static List<Object> identities(List<RgbImage> images) {
    List<Object> out = new ArrayList<>(images.size());
    for (RgbImage im : images) {
      out.add(new Identity(im));
    }
    return out;
  }

  /** Compares by reference. */
  private record Identity(Object o) {
    @Override
    public boolean equals(Object other) {
      return other instanceof Identity i && i.o == o;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(o);
    }
  }

  private record Key(String prompt, List<Object> images) {}
}
