// Score-file lines to RewardSamples: non-string solutions str()'d as Python prints them, null-valued keys dropped.
package org.vlmr1.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vlmr1.util.Json;

class RewardSamplesTest {
  @SuppressWarnings("unchecked")
  static RewardSample sample(String json) {
    return RewardSamples.fromJson((Map<String, Object>) Json.parse(json), Path.of("."), "line 1 of in.jsonl");
  }

  @Test
  void nonStringSolutionsAreStrdAsPythonPrintsThem() {
    String[][] cases = {
      {"[103.93,299.99,238.15,477.41]", "[103.93, 299.99, 238.15, 477.41]"}, {"1e20", "1e+20"}, {"3", "3"},
      {"false", "False"}, {"null", "None"}, {"{\"a\": [1, 2]}", "{'a': [1, 2]}"}, {"\"<answer> x </answer>\"",
          "<answer> x </answer>"}};
    for (String[] c : cases) {
      assertEquals(c[1], sample("{\"completion\": \"c\", \"solution\": " + c[0] + "}").solution(), c[0]);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> sample("{\"completion\": \"c\"}"));
    assertTrue(e.getMessage().contains("\"solution\" is missing"), e.getMessage());
  }

  @Test
  void nullValuedKeysAreDropped() {
    RewardSample s = sample("{\"id\": null, \"completion\": \"c\", \"solution\": \"s\", \"foo\": null, \"bar\": 1}");
    assertEquals("line 1 of in.jsonl", s.id());
    assertEquals(Map.of("bar", 1L), s.fields());
    Map<String, Object> withNull = new HashMap<>(Map.of("k", "v"));
    withNull.put("gone", null);
    assertEquals(Map.of("k", "v"), new RewardSample("1", "c", "s", null, List.of(), List.of(), null, withNull)
        .fields(), "the record itself drops them (Map.copyOf rejects null values)");
  }
}
