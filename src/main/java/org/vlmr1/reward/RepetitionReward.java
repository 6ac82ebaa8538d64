// --reward_funcs repetition: VLM-R1's repetition_reward (grpo_jsonl.py, VLM-R1-SPEC.md 3.7), a penalty in [-1, 0].
package org.vlmr1.reward;

import org.vlmr1.util.PyRepr;
import org.vlmr1.util.PyText;
import org.vlmr1.util.Json;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Penalises repeated boxes or repeated text: {@code -(1 - unique / total)}.
 *
 * <ul>
 *   <li>JSON: the first ```json block, else the first ``` block, else the first
 *       {@code [ {... "bbox_2d" ... "label" ...} ]} span; parsed as JSON, or repaired ({@link JsonRepair}) when that
 *       fails. A non-empty list: its items with both bbox_2d and label become 1-grams {@code f"{bbox_2d}_{label}"},
 *       rendered as Python's str() does ({@link PyRepr}: {@code true} is {@code True}, {@code 1.0} stays
 *       {@code 1.0}, {@code [1, 'a']}); no such item scores 0.
 *   <li>Otherwise plain text: lower-cased whitespace-separated words, 6-grams; fewer than 6 words scores 0.
 *   <li>An empty completion scores 0.
 * </ul>
 *
 * <p>Example: {@code ```json [{"bbox_2d":[1,2,3,4],"label":"a"},{"bbox_2d":[1,2,3,4],"label":"a"}] ```} scores -0.5,
 * and so do labels {@code true} and {@code "True"} on the same box (both render as {@code True}).
 * Difference: an item that is not an object is skipped (VLM-R1 raises a TypeError on a non-iterable item).
 */
public final class RepetitionReward implements RewardFunction {
  private static final Pattern JSON_BLOCK = PyText.compile("```json(.*?)```", true);
  private static final Pattern ANY_BLOCK = PyText.compile("```(.*?)```", true);
  private static final Pattern WORDS = PyText.compile("\\s+", false);

  @Override
  public String name() {
    return "repetition";
  }

  @Override
  public double score(RewardSample sample) {
    String content = sample.completion();
    if (content.isEmpty()) {
      return 0.0;
    }
    String json = locateJson(content);
    if (json != null && !json.isEmpty()) {
      Object data;
      try {
        data = Json.parse(json);
      } catch (IllegalArgumentException e) {
        data = JsonRepair.parse(json);
      }
      if (data instanceof List<?> list && !list.isEmpty()) {
        List<String> items = new ArrayList<>();
        for (Object item : list) {
          if (item instanceof Map<?, ?> m && m.containsKey("bbox_2d") && m.containsKey("label")) {
            // f"{item['bbox_2d']}_{item['label']}": two items repeat when Python renders them alike
            items.add(PyRepr.str(m.get("bbox_2d")) + "_" + PyRepr.str(m.get("label")));
          }
        }
        if (items.isEmpty()) {
          return 0.0;
        }
        return -(1.0 - (double) new HashSet<>(items).size() / items.size());
      }
    }
    String[] words = split(PyText.lower(content));
    int n = 6;
    if (words.length < n) {
      return 0.0;
    }
    // one list view for every n-gram: copying the words per n-gram made long plain-text completions quadratic
    List<String> all = List.of(words);
    Set<List<String>> grams = new HashSet<>();
    int total = 0;
    for (int k = 0; k + n <= words.length; k++) {
      grams.add(all.subList(k, k + n));
      total++;
    }
    return -(1.0 - (double) grams.size() / total);
  }

  private static String locateJson(String content) {
    Matcher m = JSON_BLOCK.matcher(content);
    if (m.find()) {
      return PyText.strip(m.group(1));
    }
    m = ANY_BLOCK.matcher(content);
    String block = m.find() ? PyText.strip(m.group(1)) : null;
    if (block != null && !block.isEmpty()) {
      return block;
    }
    return boxList(content);
  }

  /**
   * The first match of {@code \[\s*\{.*?"bbox_2d".*?"label".*?\}\s*\]} (DOTALL), or null, in linear time. The regex
   * engine retries every {@code [} and scans the rest of the text from each (200,000 "[{" pieces took minutes); but
   * only the first {@code [\s*\{} can match: a later start finds its {@code "bbox_2d"}, {@code "label"} and closing
   * {@code \}\s*\]} no earlier than the first one does, and the lazy quantifiers take the earliest of each.
   */
  static String boxList(String content) {
    int open = -1;
    for (int i = content.indexOf('['); i >= 0; i = content.indexOf('[', i + 1)) {
      int k = PyText.skipSpace(content, i + 1);
      if (k < content.length() && content.charAt(k) == '{') {
        open = i;
        break;
      }
    }
    if (open < 0) {
      return null;
    }
    int brace = PyText.skipSpace(content, open + 1);
    int bbox = content.indexOf("\"bbox_2d\"", brace + 1);
    int label = bbox < 0 ? -1 : content.indexOf("\"label\"", bbox + "\"bbox_2d\"".length());
    if (label < 0) {
      return null;
    }
    for (int c = content.indexOf('}', label + "\"label\"".length()); c >= 0; c = content.indexOf('}', c + 1)) {
      int k = PyText.skipSpace(content, c + 1);
      if (k < content.length() && content.charAt(k) == ']') {
        return content.substring(open, k + 1);
      }
    }
    return null;
  }

  /** Python's str.split(): runs of whitespace, no empty strings. */
  static String[] split(String s) {
    String t = PyText.strip(s);
    return t.isEmpty() ? new String[0] : WORDS.split(t);
  }
}
