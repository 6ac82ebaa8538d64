// Hostile InternVL config.json files handed to prepare and forward: sizes of 0, values out of range, unknown
// templates and tile counts that cannot be tiled. Each must end in one line naming config.json and the key; the comment
// above each case says what the old code did with it.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InternVlHostileConfigTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  static Path dir;
  private static Path model;
  private static Path png;
  private static Path inputs;

  @BeforeAll
  static void fixtures() throws IOException {
    model = dir.resolve("tiny");
    assertEquals(0, ScoreCommandTest.run("init-tiny", "--family", "internvl_chat", "--out", model.toString()).rc());
    Path data = dir.resolve("data");
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", data.toString(), "--n", "1").rc());
    try (Stream<Path> s = Files.walk(data)) {
      png = s.filter(p -> p.toString().endsWith(".png")).findFirst().orElseThrow();
    }
    inputs = dir.resolve("in.safetensors");
    assertEquals(0, prepare(model, inputs).rc());
  }

  private static ScoreCommandTest.Run prepare(Path m, Path out) {
    return ScoreCommandTest.run("prepare", "--model", m.toString(), "--image", png.toString(), "--text", "hi",
        "--out", out.toString());
  }

  /** A copy of the tiny checkpoint whose config.json {@code edit} changed (root object). */
  private static Path withConfig(Consumer<ObjectNode> edit) throws IOException {
    Path copy = dir.resolve("m-" + System.nanoTime());
    Files.createDirectories(copy);
    try (Stream<Path> s = Files.list(model)) {
      for (Path p : s.toList()) {
        Files.copy(p, copy.resolve(p.getFileName()));
      }
    }
    ObjectNode root = (ObjectNode) JSON.readTree(copy.resolve("config.json").toFile());
    edit.accept(root);
    JSON.writeValue(copy.resolve("config.json").toFile(), root);
    return copy;
  }

  private static ObjectNode vision(ObjectNode root) {
    return (ObjectNode) root.get("vision_config");
  }

  private static ObjectNode llm(ObjectNode root) {
    return (ObjectNode) root.get("llm_config");
  }

  /** prepare (and, when {@code forward}, forward) end with exit 1 and one line naming config.json and each part. */
  private static void assertRefused(Path m, boolean forward, String... parts) {
    ScoreCommandTest.Run p = prepare(m, dir.resolve("p-" + System.nanoTime() + ".safetensors"));
    assertOneLine(p, m, parts);
    if (forward) {
      assertOneLine(ScoreCommandTest.run("forward", "--model", m.toString(), "--inputs", inputs.toString(), "--out",
          dir.resolve("f-" + System.nanoTime() + ".safetensors").toString()), m, parts);
    }
  }

  private static void assertOneLine(ScoreCommandTest.Run r, Path m, String... parts) {
    assertEquals(1, r.rc(), r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    assertTrue(r.err().contains(m.resolve("config.json") + ": "), "config.json named: " + r.err());
    for (String p : parts) {
      assertTrue(r.err().contains(p), "'" + p + "' in: " + r.err());
    }
    assertTrue(r.err().length() < 400, r.err().length() + " characters");
  }

  /**
   * Old code: vision_config.num_attention_heads 0 and patch_size 0 were "config.json: / by zero"; a negative
   * image_size or patch_size let prepare write a batch (exit 0); force_image_size 0 was "InternVL tiling needs image
   * size >= 1 ..." without the file.
   */
  @Test
  void visionSizesMustBePositive() throws IOException {
    long seed = System.nanoTime();
    System.out.println("InternVlHostileConfigTest sizes seed " + seed);
    Random r = new Random(seed);
    assertRefused(withConfig(c -> vision(c).put("num_attention_heads", 0)), true,
        "vision_config sizes must be positive", "num_attention_heads 0");
    assertRefused(withConfig(c -> vision(c).put("patch_size", 0)), false, "patch_size 0");
    int negative = -14 * (1 + r.nextInt(100));
    assertRefused(withConfig(c -> vision(c).put("image_size", negative)), false, "image_size " + negative);
    assertRefused(withConfig(c -> c.put("force_image_size", 0)), false, "force_image_size 0 is not a positive");
  }

  /**
   * Old code: a negative rms_norm_eps or vision layer_norm_eps, a rope_theta of 0 or below, and a dynamic rope_scaling
   * factor below 1 all ran (exit 0) into NaN or meaningless rotations and norms.
   */
  @Test
  void epsThetaAndRopeFactorAreInRange() throws IOException {
    long seed = System.nanoTime();
    System.out.println("InternVlHostileConfigTest range seed " + seed);
    Random r = new Random(seed);
    double eps = -1 - r.nextInt(1000);
    assertRefused(withConfig(c -> llm(c).put("rms_norm_eps", eps)), true, "llm_config.rms_norm_eps " + eps);
    double theta = -r.nextInt(1000);
    assertRefused(withConfig(c -> llm(c).put("rope_theta", theta)), false, "llm_config.rope_theta " + theta);
    assertRefused(withConfig(c -> vision(c).put("layer_norm_eps", eps)), false, "vision_config.layer_norm_eps " + eps);
    double factor = -r.nextInt(1000) / 1000.0;
    assertRefused(withConfig(c -> llm(c).putObject("rope_scaling").put("type", "dynamic").put("factor", factor)),
        true, "llm_config.rope_scaling.factor " + factor + " must be >= 1");
  }

  /**
   * Old code: select_layer outside the tower's hidden states was "select_layer N is outside the tower's 3 hidden
   * states" without the file (and prepare wrote a batch); an unknown template was "conversation template '...' is not
   * supported" without the file, a 100,000-character one echoed whole.
   */
  @Test
  void selectLayerAndTemplateAreNamedWithTheFile() throws IOException {
    long seed = System.nanoTime();
    System.out.println("InternVlHostileConfigTest select seed " + seed);
    Random r = new Random(seed);
    int above = 3 + r.nextInt(Integer.MAX_VALUE - 3);
    int below = -4 - r.nextInt(1 << 30);
    for (int layer : new int[] {above, below}) {
      assertRefused(withConfig(c -> c.put("select_layer", layer)), true, "select_layer " + layer
          + " is outside the vision tower's 3 hidden states [-3, 2]");
    }
    StringBuilder name = new StringBuilder();
    for (int i = 0; i < 100_000; i++) {
      name.append((char) ('a' + r.nextInt(26)));
    }
    assertRefused(withConfig(c -> c.put("template", name.toString())), true, "template '" + name.substring(0, 20),
        "is not supported (supported: internvl2_5");
  }

  /**
   * Old code: max_dynamic_patch 10^9 (or 2^31 - 1) made prepare enumerate every tile grid of up to that many tiles:
   * still running when `timeout 40` stopped it; min = max = 10^9 crashed the JVM (SIGABRT, no message). The
   * --max_anyres_num flag did the same, and above 2^31 was "integer overflow" without the flag named.
   */
  @Test
  void tileCountsAreBounded() throws IOException {
    long seed = System.nanoTime();
    System.out.println("InternVlHostileConfigTest tiles seed " + seed);
    int max = 10_001 + new Random(seed).nextInt(Integer.MAX_VALUE - 10_001);
    Path m = withConfig(c -> c.put("max_dynamic_patch", max));
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> assertRefused(m, false, "max_dynamic_patch " + max
        + " tiles of 56 pixels is too many"), "seed " + seed);
    long flag = max + (new Random(seed + 1).nextBoolean() ? 0 : 1L << 32);
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
      ScoreCommandTest.Run r = ScoreCommandTest.run("prepare", "--model", model.toString(), "--image", png.toString(),
          "--text", "hi", "--max_anyres_num", Long.toString(flag), "--out", dir.resolve("flag.safetensors").toString());
      assertEquals(2, r.rc(), r.err()); // a bad flag value is a usage error, as in train (the config's value exits 1)
      assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
      assertTrue(r.err().contains("max_anyres_num " + flag + " tiles of 56 pixels is too many"), r.err());
    }, "seed " + seed);
    // a large but tileable count still prepares (one 112 x 84 image cut into at least 1000 tiles of 56 pixels)
    Path many = withConfig(c -> c.put("max_dynamic_patch", 1000).put("min_dynamic_patch", 1000));
    assertEquals(0, prepare(many, dir.resolve("many.safetensors")).rc());
  }
}
