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
