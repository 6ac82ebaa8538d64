// VLM-R1's JSONL layout: images as string, list or absent, <answer> tags and <image> placeholders removed, per-line
// and per-file reward methods, and bad lines reported with file and line (fail or skip).
package org.vlmr1.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlDatasetTest {
  /** The rewards' accuracy methods, as the train command hands them to the loader. */
  static final MethodNames ACCURACY = new MethodNames(org.vlmr1.reward.AccuracyMethod::known,
      org.vlmr1.reward.AccuracyMethod.keys());


  @Test
  void readsVlmR1Lines(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("imgs"));
    Files.write(dir.resolve("imgs/a.png"), new byte[] {1});
    Files.write(dir.resolve("imgs/b.png"), new byte[] {1});
    Path f = dir.resolve("d.jsonl");
    Files.write(f, List.of(
        "{\"id\": 1, \"image\": \"a.png\", \"conversations\": [{\"from\": \"human\", \"value\": \"<image>Where?\"},"
            + " {\"from\": \"gpt\", \"value\": \"<answer> [1, 2, 3, 4] </answer>\"}], \"extra\": 5}",
        "{\"image\": [\"a.png\", \"b.png\"], \"conversations\": [{\"value\": \"<image><image>Same?\"},"
            + " {\"value\": \"yes\"}], \"accu_reward_method\": \"yes_no\"}",
        "",
        "{\"conversations\": [{\"value\": \"2+2?\"}, {\"value\": 4}]}"));
    JsonlDataset.Loaded l = JsonlDataset.load(new JsonlDataset.Spec(List.of(f), List.of(dir.resolve("imgs")),
        List.of("mcq"), JsonlDataset.OnBadSample.FAIL, false));
    assertEquals(3, l.examples().size());
    Example a = l.examples().get(0);
    assertEquals("1", a.id());
    assertEquals("Where?", a.problem());
    assertEquals("[1, 2, 3, 4]", a.solution());
    assertEquals("mcq", a.accuRewardMethod(), "the file's method");
    assertEquals(5L, a.fields().get("extra"));
    Example b = l.examples().get(1);
    assertEquals(2, b.images().size());
    assertEquals("yes_no", b.accuRewardMethod(), "a line's method wins");
    assertEquals("d.jsonl:2", b.id(), "no id: file and line");
    assertEquals("4", l.examples().get(2).solution());
    assertEquals(0, l.examples().get(2).images().size());
  }

  @Test
  void unknownMethodsAreListedOnceAndScoredAsDefault(@TempDir Path dir) throws Exception {
    String q = "\"conversations\": [{\"value\": \"q\"}, {\"value\": \"a\"}]";
    Path a = dir.resolve("a.jsonl");
    Files.write(a, List.of("{" + q + "}", "{" + q + ", \"accu_reward_method\": \"od_length\"}",
        "{" + q + ", \"accu_reward_method\": \"yes_no\"}", "{" + q + ", \"accu_reward_method\": 3}",
        "{" + q + ", \"accu_reward_method\": \"od_length\"}"));
    Path b = dir.resolve("b.jsonl");
    Files.write(b, List.of("{" + q + ", \"accu_reward_method\": \"MCQ\"}", "{" + q + "}"));
    JsonlDataset.Loaded l = JsonlDataset.load(new JsonlDataset.Spec(List.of(a, b), List.of(dir, dir),
        List.of("yes_no", "mcqq"), JsonlDataset.OnBadSample.FAIL, false), ACCURACY);
    assertEquals(7, l.examples().size(), "unknown methods are not bad lines");
    List<String> u = l.unknownMethods();
    assertEquals(4, u.size(), String.join("\n", u));
    assertTrue(u.get(0).startsWith("--reward_method 'mcqq' for b.jsonl"), u.get(0));
    assertTrue(u.get(1).startsWith("a.jsonl: accu_reward_method 'od_length' on lines 2, 5 is not a known method: "
        + "scored as default"), u.get(1));
    assertTrue(u.get(2).startsWith("a.jsonl: accu_reward_method '3' on line 4 "), u.get(2));
    assertTrue(u.get(3).startsWith("b.jsonl: accu_reward_method 'MCQ' on line 1 "), u.get(3));
    assertTrue(u.get(3).contains("known: default, mcq, yes_no"), u.get(3));
    assertTrue(l.summary().contains("\n  warning: a.jsonl: accu_reward_method 'od_length'"), l.summary());
    // A line's own value wins even when it names nothing (VLM-R1's item.get('accu_reward_method', file_method)).
    assertEquals("3", l.examples().get(3).accuRewardMethod());
    assertEquals(org.vlmr1.reward.AccuracyMethod.DEFAULT,
        org.vlmr1.reward.AccuracyMethod.of(l.examples().get(3).accuRewardMethod()));
    assertEquals(org.vlmr1.reward.AccuracyMethod.DEFAULT,
        org.vlmr1.reward.AccuracyMethod.of(l.examples().get(1).accuRewardMethod()));
    assertTrue(JsonlDataset.load(new JsonlDataset.Spec(List.of(a), List.of(dir), null, JsonlDataset.OnBadSample.FAIL,
        false), ACCURACY).unknownMethods().size() == 2, "known file method: only the lines' own");
  }

  @Test
  void badLinesNameFileAndLine(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("bad.jsonl");
    Files.write(f, List.of("{\"conversations\": [{\"value\": \"q\"}]}", "not json",
        "{\"image\": \"../x.png\", \"conversations\": [{\"value\": \"q\"}, {\"value\": \"a\"}]}",
        "{\"image\": \"missing.png\", \"conversations\": [{\"value\": \"q\"}, {\"value\": \"a\"}]}",
        "{\"conversations\": [{\"value\": \"q\"}, {\"value\": \"a\"}]}"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonlDataset.load(
        new JsonlDataset.Spec(List.of(f), List.of(dir), null, JsonlDataset.OnBadSample.FAIL, false)));
    assertTrue(e.getMessage().startsWith("bad.jsonl:1:") && e.getMessage().contains("--on_bad_sample skip"),
        e.getMessage());
    JsonlDataset.Loaded l = JsonlDataset.load(new JsonlDataset.Spec(List.of(f), List.of(dir.resolve("sub")), null,
        JsonlDataset.OnBadSample.SKIP, false));
    assertEquals(1, l.examples().size());
    assertEquals(4, l.skipped().size());
    assertTrue(l.skipped().get(2).contains("--allow_image_paths_outside_folders"), l.skipped().get(2));
    assertTrue(l.skipped().get(3).contains("does not exist"), l.skipped().get(3));
    assertThrows(IllegalArgumentException.class, () -> new JsonlDataset.Spec(List.of(f), List.of(), null,
        JsonlDataset.OnBadSample.FAIL, false));
  }

  @Test
  void syntheticRecIsValidVlmR1Data(@TempDir Path dir) throws Exception {
    Path jsonl = SyntheticRec.write(dir, 5, 112, 84, 1);
    JsonlDataset.Loaded l = JsonlDataset.load(new JsonlDataset.Spec(List.of(jsonl), List.of(dir), null,
        JsonlDataset.OnBadSample.FAIL, false));
    assertEquals(5, l.examples().size());
    assertTrue(l.examples().get(0).problem().startsWith("Please provide the bounding box coordinate of the region "
        + "this sentence describes: the "));
    assertTrue(l.examples().get(0).solution().matches("\\[\\d+, \\d+, \\d+, \\d+\\]"));
  }
}
