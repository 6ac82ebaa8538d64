// VLM-R1's JSONL layout: images as string, list or absent, <answer> tags and <image> placeholders removed, per-line
// and per-file reward methods, and bad lines reported with file and line (fail or skip).
package org.vlmr1.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlDatasetTest {
  /** The rewards' accuracy methods, as the train command hands them to the loader. */
  static final MethodNames ACCURACY = new MethodNames(org.vlmr1.reward.AccuracyMethod::known,
      org.vlmr1.reward.AccuracyMethod.keys());


  @Test
  void readsVlmR1Lines(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("imgs"));
    BadImageFiles.png(dir.resolve("imgs/a.png"), 4, 3);
    BadImageFiles.png(dir.resolve("imgs/b.png"), 2, 2);
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

  @Test
  void corruptAndNonImageFilesAreFoundAtValidation(@TempDir Path dir) throws Exception {
    BadImageFiles.png(dir.resolve("good.png"), 30, 20);
    byte[] whole = BadImageFiles.pngBytes(60, 40, 3);
    Files.write(dir.resolve("cut.png"), Arrays.copyOf(whole, whole.length / 2));   // a truncated download
    Files.write(dir.resolve("head.png"), Arrays.copyOf(whole, 20));                // ends inside IHDR
    Files.writeString(dir.resolve("notes.png"), "these are not pixels");
    Files.write(dir.resolve("empty.jpg"), new byte[0]);
    BadImageFiles.pngWithCorruptData(dir.resolve("late.png"), 30, 20);
    Path f = dir.resolve("d.jsonl");
    List<String> names = List.of("good.png", "cut.png", "head.png", "notes.png", "empty.jpg", "late.png");
    Files.write(f, names.stream().map(n -> "{\"image\": \"" + n + "\", \"conversations\": [{\"value\": "
        + "\"<image>q\"}, {\"value\": \"a\"}]}").toList());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonlDataset.load(
        new JsonlDataset.Spec(List.of(f), List.of(dir), null, JsonlDataset.OnBadSample.FAIL, false)));
    assertTrue(e.getMessage().startsWith("d.jsonl:2: image " + dir.resolve("cut.png") + ": truncated PNG"),
        e.getMessage());
    assertTrue(e.getMessage().contains("--on_bad_sample skip"), e.getMessage());
    JsonlDataset.Loaded l = JsonlDataset.load(new JsonlDataset.Spec(List.of(f), List.of(dir), null,
        JsonlDataset.OnBadSample.SKIP, false));
    // The corrupt pixel data of late.png passes: only a full decode finds it (the trainer's --on_bad_sample).
    assertEquals(List.of("good.png", "late.png"), l.examples().stream()
        .map(x -> x.images().get(0).getFileName().toString()).toList());
    assertEquals("d.jsonl:6", l.examples().get(1).source());
    assertEquals(4, l.skipped().size(), l.skipped().toString());
    assertTrue(l.summary().contains("2 examples (2 images), 4 bad lines skipped"), l.summary());
    String[] expected = {"d.jsonl:2: image " + dir.resolve("cut.png") + ": truncated PNG",
        "d.jsonl:3: image " + dir.resolve("head.png") + ": ", "d.jsonl:4: image " + dir.resolve("notes.png")
        + ": not an image format", "d.jsonl:5: image " + dir.resolve("empty.jpg") + ": empty file"};
    for (int i = 0; i < expected.length; i++) {
      assertTrue(l.skipped().get(i).startsWith(expected[i]), l.skipped().get(i));
    }
  }

  @Test
  void fourChannelJpegsPassTheHeaderCheck() throws Exception {
    Path golden = Path.of("src/test/resources/golden/jpeg_cmyk");
    try (var s = Files.list(golden)) {
      for (Path p : s.filter(x -> x.toString().endsWith(".jpg")).toList()) {
        ImageHeader.Info info = ImageHeader.check(p);
        assertTrue(info.format().equals("jpeg") && info.width() > 0 && info.height() > 0, p + ": " + info);
      }
    }
  }

  @Test
  void anImagePlaceholderWithoutItsImageIsABadLine(@TempDir Path dir) throws Exception {
    BadImageFiles.png(dir.resolve("a.png"), 4, 4);
    Path f = dir.resolve("p.jsonl");
    Files.write(f, List.of("{\"conversations\": [{\"value\": \"<image>What is shown?\"}, {\"value\": \"a\"}]}",
        "{\"image\": \"a.png\", \"conversations\": [{\"value\": \"<image><image>Same?\"}, {\"value\": \"a\"}]}",
        "{\"image\": \"a.png\", \"conversations\": [{\"value\": \"<image>Fine\"}, {\"value\": \"a\"}]}"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonlDataset.load(
        new JsonlDataset.Spec(List.of(f), List.of(dir), null, JsonlDataset.OnBadSample.FAIL, false)));
    assertTrue(e.getMessage().startsWith("p.jsonl:1: the question has 1 <image> placeholder but the line has no "
        + "\"image\""), e.getMessage());
    JsonlDataset.Loaded l = JsonlDataset.load(new JsonlDataset.Spec(List.of(f), List.of(dir), null,
        JsonlDataset.OnBadSample.SKIP, false));
    assertEquals(1, l.examples().size());
    assertTrue(l.skipped().get(1).startsWith("p.jsonl:2: the question has 2 <image> placeholders but the line has "
        + "only 1 image"), l.skipped().get(1));
  }

  @Test
  void nullFieldsLoadAndAreDropped(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("n.jsonl");
    Files.write(f, List.of("{\"id\": null, \"conversations\": [{\"value\": \"Q\"}, {\"value\": \"x\"}]}",
        "{\"id\": 2, \"foo\": null, \"bar\": [null], \"conversations\": [{\"value\": \"Q\"}, {\"value\": \"x\"}]}"));
    for (JsonlDataset.OnBadSample onBad : JsonlDataset.OnBadSample.values()) {
      JsonlDataset.Loaded l = JsonlDataset.load(new JsonlDataset.Spec(List.of(f), List.of(dir), null, onBad, false));
      assertEquals(2, l.examples().size(), onBad + ": " + l.skipped());
      assertEquals("n.jsonl:1", l.examples().get(0).id(), "a null id is no id: file and line");
      assertEquals(Map.of(), l.examples().get(0).fields());
      Example b = l.examples().get(1);
      assertEquals("2", b.id());
      assertTrue(!b.fields().containsKey("foo") && b.fields().get("bar").equals(Arrays.asList((Object) null)),
          "null-valued keys are dropped as score inputs drop them; nested nulls stay: " + b.fields());
    }
  }

  @Test
  void nonStringSolutionsAreStrdAsPythonPrintsThem(@TempDir Path dir) throws Exception {
    String[][] cases = {
      {"[103.93, 299.99, 238.15, 477.41]", "[103.93, 299.99, 238.15, 477.41]"},
      {"[103.93,299.99,238.15,477.41]", "[103.93, 299.99, 238.15, 477.41]"},
      {"1e20", "1e+20"}, {"4", "4"}, {"2.50", "2.5"}, {"true", "True"}, {"null", "None"},
      {"{\"a\": [1, 2], \"b\": \"it's\"}", "{'a': [1, 2], 'b': \"it's\"}"}};
    Path f = dir.resolve("s.jsonl");
    List<String> lines = new java.util.ArrayList<>();
    for (String[] c : cases) {
      lines.add("{\"conversations\": [{\"value\": \"q\"}, {\"value\": " + c[0] + "}]}");
    }
    lines.add("{\"conversations\": [{\"value\": \"q\"}, {\"from\": \"gpt\"}]}");
    Files.write(f, lines);
    JsonlDataset.Loaded l = JsonlDataset.load(new JsonlDataset.Spec(List.of(f), List.of(dir), null,
        JsonlDataset.OnBadSample.SKIP, false));
    assertEquals(cases.length, l.examples().size(), l.skipped().toString());
    for (int i = 0; i < cases.length; i++) {
      assertEquals(cases[i][1], l.examples().get(i).solution(), "str() of " + cases[i][0]);
    }
    assertEquals(1, l.skipped().size());
    assertTrue(l.skipped().get(0).startsWith("s.jsonl:" + lines.size() + ": the solution turn has no \"value\""),
        "a missing value is a KeyError in VLM-R1: " + l.skipped());
  }

  @Test
  void imagesAbovePillowsPixelLimitAreBadLines(@TempDir Path dir) throws Exception {
    BadImageFiles.pngHeader(dir.resolve("bomb.png"), 20000, 20000);
    // 13377^2 = 178,944,129 is just under the limit of 178,956,970; 13378^2 = 178,970,884 just above
    BadImageFiles.pngHeader(dir.resolve("under.png"), 13377, 13377);
    BadImageFiles.pngHeader(dir.resolve("over.png"), 13378, 13378);
    Path f = dir.resolve("b.jsonl");
    Files.write(f, List.of("bomb.png", "under.png", "over.png").stream().map(n -> "{\"image\": \"" + n
        + "\", \"conversations\": [{\"value\": \"<image>q\"}, {\"value\": \"a\"}]}").toList());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonlDataset.load(
        new JsonlDataset.Spec(List.of(f), List.of(dir), null, JsonlDataset.OnBadSample.FAIL, false)));
    assertTrue(e.getMessage().startsWith("b.jsonl:1: image " + dir.resolve("bomb.png") + ": the header gives "
        + "20000x20000 = 400000000 pixels, above Pillow's decompression-bomb limit of 178956970"), e.getMessage());
    JsonlDataset.Loaded l = JsonlDataset.load(new JsonlDataset.Spec(List.of(f), List.of(dir), null,
        JsonlDataset.OnBadSample.SKIP, false));
    assertEquals(List.of("under.png"), l.examples().stream()
        .map(x -> x.images().get(0).getFileName().toString()).toList());
    assertTrue(l.skipped().get(1).startsWith("b.jsonl:3: image " + dir.resolve("over.png") + ": the header gives "
        + "13378x13378"), l.skipped().toString());
  }

  @Test
  void imagePathWithoutImageIsTextOnlyAndSaidOnce(@TempDir Path dir) throws Exception {
    BadImageFiles.png(dir.resolve("a.png"), 4, 4);
    Path f = dir.resolve("ip.jsonl");
    String q = "\"conversations\": [{\"value\": \"q\"}, {\"value\": \"a\"}]";
    Files.write(f, List.of("{\"image\": \"a.png\", " + q + "}", "{\"image_path\": [\"a.png\"], " + q + "}",
        "{\"image_path\": \"a.png\", " + q + "}", "{\"image_path\": null, " + q + "}", "{\"image_path\": [], "
        + q + "}"));
    JsonlDataset.Loaded l = JsonlDataset.load(new JsonlDataset.Spec(List.of(f), List.of(dir), null,
        JsonlDataset.OnBadSample.FAIL, false));
    assertEquals(List.of(1, 0, 0, 0, 0), l.examples().stream().map(x -> x.images().size()).toList());
    String warning = "\n  warning: ip.jsonl:2: the line has \"image_path\" but no \"image\" and trains text-only";
    assertTrue(l.summary().contains(warning), l.summary());
    assertEquals(1, l.summary().split("image_path", -1).length - 1, "one warning per file: " + l.summary());
    assertTrue(l.summary().endsWith("; 2 more lines of this file alike"), l.summary());
  }
}
