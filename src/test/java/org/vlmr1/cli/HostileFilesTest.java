// Hostile files handed to forward and generate: prepared inputs whose grids, ids or masks do not describe their
// tensors, and checkpoints whose config or shard index is wrong. Each must end in a one-line error naming the file or
// the mismatch; the comment above each case says what the old code did with it.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.BadImageFiles;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.model.SafeTensorsWriter;
import org.vlmr1.model.Weights;

class HostileFilesTest {
  @TempDir
  static Path dir;
  private static Path model;
  private static Path inputs;

  @BeforeAll
  static void fixtures() throws IOException {
    Path data = dir.resolve("data");
    model = dir.resolve("tiny");
    TinyFixture.write(data, 2, 84, 56, model);
    inputs = dir.resolve("in.safetensors");
    Path png;
    try (Stream<Path> s = Files.walk(data)) {
      png = s.filter(p -> p.toString().endsWith(".png")).findFirst().orElseThrow();
    }
    assertEquals(0, ScoreCommandTest.run("prepare", "--model", model.toString(), "--image", png.toString(), "--text",
        "hi", "--out", inputs.toString()).rc());
  }

  private static void assertRefused(int rc, ScoreCommandTest.Run r, String... parts) {
    assertEquals(rc, r.rc(), r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    for (String p : parts) {
      assertTrue(r.err().contains(p), "'" + p + "' in: " + r.err());
    }
  }

  /** The prepared inputs with {@code name} replaced by {@code value} (or removed when null). */
  private static Path inputsWith(String file, String name, Tensor value) throws IOException {
    Map<String, Tensor> one = new LinkedHashMap<>();
    one.put(name, value);
    return inputsWith(file, one);
  }

  /** The prepared inputs with the tensors of {@code replaced} put in place of theirs. */
  private static Path inputsWith(String file, Map<String, Tensor> replaced) throws IOException {
    TorchRuntime.load();
    Path out = dir.resolve(file);
    try (PointerScope s = new PointerScope()) {
      SafeTensorsFile f = SafeTensorsFile.open(inputs);
      Map<String, Tensor> t = new LinkedHashMap<>();
      for (String k : f.entries().keySet()) {
        t.put(k, Weights.tensor(f, k));
      }
      t.putAll(replaced);
      SafeTensorsWriter.write(out, t);
    }
    return out;
  }

  private static ScoreCommandTest.Run forward(Path m, Path in) {
    return ScoreCommandTest.run("forward", "--model", m.toString(), "--inputs", in.toString(), "--out",
        dir.resolve("out-" + System.nanoTime() + ".safetensors").toString());
  }

  /** A copy of the tiny checkpoint under {@code name}. */
  private static Path modelCopy(String name) throws IOException {
    Path copy = dir.resolve(name);
    Files.createDirectories(copy);
    try (Stream<Path> s = Files.list(model)) {
      for (Path p : s.toList()) {
        Files.copy(p, copy.resolve(p.getFileName()));
      }
    }
    return copy;
  }

  /**
   * Old code: a grid of [1, h, w] with h, w up to 2^20 (random here) against 24 patch rows sized the vision tower's
   * rotary tables and windows from the grid: 7 GB and still running after 10 minutes (SIGTERM did not stop it); a
   * grid of [2^40, 2^40, 2^40] was a "Java heap space" OutOfMemoryError; two grids for one image's rows an "index out
   * of range in self" from libtorch.
   */
  @Test
  void gridsThatDoNotDescribeThePixelsAreRefusedBeforeAnythingIsSized() throws IOException {
    long seed = System.nanoTime();
    System.out.println("HostileFilesTest seed " + seed);
    Random r = new Random(seed);
    long h = 2L * (1 + r.nextInt(1 << 19));
    long w = 2L * (1 + r.nextInt(1 << 19)) + 1024; // never the fixture's 24 rows
    TorchRuntime.load();
    Path huge = inputsWith("grid-huge.safetensors", "image_grid_thw", torch.tensor(new long[] {1, h, w})
        .reshape(1, 3));
    Path overflow = inputsWith("grid-overflow.safetensors", "image_grid_thw",
        torch.tensor(new long[] {1L << 40, 1L << 40, 1L << 40}).reshape(1, 3));
    assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
      assertRefused(1, forward(model, huge), "pixel_values has 24 patch rows, but image_grid_thw describes "
          + h * w + " ");
      assertRefused(1, forward(model, overflow), "image_grid_thw describes more than 2^63");
    }, "seed " + seed);
  }

  /** Old code: input_ids of shape (1, 0) made generate fail with "/ by zero"; a (28) one with libtorch's words. */
  @Test
  void idsOfTheWrongShapeAreNamed() throws IOException {
    TorchRuntime.load();
    Path empty = inputsWith("ids-empty.safetensors", "input_ids", torch.tensor(new long[0]).reshape(1, 0));
    ScoreCommandTest.Run r = ScoreCommandTest.run("generate", "--model", model.toString(), "--inputs",
        empty.toString(), "--out", dir.resolve("gen.safetensors").toString(), "--max_new_tokens", "2");
    assertRefused(2, r, empty + ": input_ids must be (batch, length), both >= 1, got [1, 0]");
    Path mask = inputsWith("mask.safetensors", "attention_mask",
        torch.tensor(new long[] {1, 1, 1, 1, 1}).reshape(1, 5));
    assertRefused(2, forward(model, mask), mask + ": attention_mask must be input_ids' shape");
  }

  /**
   * Old code: an id outside the vocabulary (random here, above it or negative) failed inside the embedding lookup with
   * libtorch's "index out of range in self", naming neither the file nor the id.
   */
  @Test
  void idsOutsideTheVocabularyAreNamed() throws IOException {
    long seed = System.nanoTime();
    System.out.println("HostileFilesTest vocabulary seed " + seed);
    long big = 151_936 + new Random(seed).nextInt(1 << 20);
    TorchRuntime.load();
    for (long id : new long[] {big, -1 - new Random(seed + 1).nextInt(1000)}) {
      Path bad = inputsWith("ids-" + (id < 0 ? "negative" : "big") + ".safetensors", Map.of("input_ids",
          torch.tensor(new long[] {1, 2, id, 3}).reshape(1, 4), "attention_mask", torch.ones(1, 4)));
      assertRefused(2, forward(model, bad), bad + ": input_ids holds " + id
          + ", outside the model's vocabulary [0, 151936)");
      ScoreCommandTest.Run g = ScoreCommandTest.run("generate", "--model", model.toString(), "--inputs",
          bad.toString(), "--out", dir.resolve("gen-" + id + ".safetensors").toString(), "--max_new_tokens", "2");
      assertRefused(2, g, "outside the model's vocabulary");
    }
  }

  /**
   * Old code: InternVL's batch (pixel_values (tiles, 3, S, S) and image_flags, no image_grid_thw) given to a Qwen
   * checkpoint ran text-only with exit 0, the images silently dropped; so did any misspelt tensor name.
   */
  @Test
  void tensorsTheFamilyDoesNotTakeAreNamed() throws IOException {
    long seed = System.nanoTime();
    System.out.println("HostileFilesTest family tensors seed " + seed);
    long tiles = 1 + new Random(seed).nextInt(7);
    TorchRuntime.load();
    Path bad = dir.resolve("internvl-batch.safetensors");
    try (PointerScope s = new PointerScope()) {
      Map<String, Tensor> internVl = TinyFixture.textOf(inputs);
      torch.manual_seed(seed);
      internVl.put("pixel_values", torch.randn(tiles, 3, 56, 56));
      internVl.put("image_flags", torch.ones(tiles, 1).to(torch.ScalarType.Long));
      SafeTensorsWriter.write(bad, internVl);
    }
    assertForwardAndGenerateRefuse(bad, 2, bad + " holds image_flags, which the qwen family does not take (it takes "
        + "input_ids, attention_mask, pixel_values, image_grid_thw)");
  }

  /** Both commands that read prepared inputs refuse {@code bad} with exit code {@code rc} and one line holding parts. */
  private static void assertForwardAndGenerateRefuse(Path bad, int rc, String... parts) {
    for (String cmd : new String[] {"forward", "generate"}) {
      ScoreCommandTest.Run r = ScoreCommandTest.run(cmd, "--model", model.toString(), "--inputs", bad.toString(),
          "--out", dir.resolve(cmd + "-" + bad.getFileName()).toString());
      assertRefused(rc, r, parts);
    }
  }

  /** Old code: exit 0 with no vision_embeds: patch rows without grids were read as a text-only pass. */
  @Test
  void pixelValuesWithoutGridsAreRefused() throws IOException {
    Path textOnly = dir.resolve("text-only.safetensors");
    assertEquals(0, ScoreCommandTest.run("prepare", "--model", model.toString(), "--text", "hi", "--out",
        textOnly.toString()).rc());
    TorchRuntime.load();
    Path bad = dir.resolve("patches-without-grids.safetensors");
    try (PointerScope s = new PointerScope()) {
      Map<String, Tensor> t = TinyFixture.textOf(textOnly);
      t.put("pixel_values", Weights.tensor(SafeTensorsFile.open(inputs), "pixel_values"));
      SafeTensorsWriter.write(bad, t);
    }
    assertForwardAndGenerateRefuse(bad, 1, "patch rows but there is no image_grid_thw");
  }

  /** Old code: exit 0, the weights read from a file outside the checkpoint folder (../ and absolute paths). */
  @Test
  void anIndexMayNotLeaveItsFolder() throws IOException {
    for (String shard : new String[] {"../tiny/model.safetensors", model.resolve("model.safetensors").toString()}) {
      Path m = modelCopy("index-" + System.nanoTime());
      Files.delete(m.resolve("model.safetensors"));
      Files.writeString(m.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"model.embed_tokens.weight\": "
          + "\"" + shard + "\"}}");
      assertRefused(1, forward(m, inputs), m.resolve("model.safetensors.index.json")
          + ": weight_map maps model.embed_tokens.weight to \"" + shard + "\", not a shard file name");
    }
  }

  /**
   * Old code: window_size 0 was "/ by zero" with no file named; num_attention_heads 0 "config.json: / by zero";
   * a negative rope_theta ran into "amax(): Expected reduction dim 1 to have non-zero size".
   */
  @Test
  void configSizesAreCheckedWithTheFileNamed() throws IOException {
    String config = Files.readString(model.resolve("config.json"));
    String[][] cases = {
        {"\"window_size\" ?: ?112", "\"window_size\" : 0", "vision_config.window_size 0 must be at least"},
        {"\"num_attention_heads\" ?: ?4", "\"num_attention_heads\" : 0", "decoder sizes must be positive"},
        {"\"rope_theta\" ?: ?1000000.0", "\"rope_theta\" : -1.0", "rope_theta -1.0 > 0"},
    };
    for (String[] c : cases) {
      String bad = config.replaceFirst(c[0], c[1]);
      assertTrue(!bad.equals(config), c[0] + " in the fixture's config.json");
      Path m = modelCopy("config-" + System.nanoTime());
      Files.writeString(m.resolve("config.json"), bad);
      assertRefused(1, forward(m, inputs), m.resolve("config.json") + ": ", c[2]);
    }
  }

  /**
   * Old code: a binary --config file was "vlmr1: Input length = 1" (exit 1, no file named); a top-level list of
   * 200,000 entries, or an unknown 40,000-character key, was echoed whole into the one-line error.
   */
  @Test
  void hostileConfigFilesAreNamedInOneShortLine() throws IOException {
    long seed = System.nanoTime();
    byte[] junk = new byte[4096];
    new Random(seed).nextBytes(junk);
    junk[0] = (byte) 0xff; // never UTF-8
    Path bin = dir.resolve("junk.yaml");
    Files.write(bin, junk);
    assertRefused(2, ScoreCommandTest.run("train", "--config", bin.toString()), bin + ": not UTF-8 text");
    Path list = dir.resolve("list.yaml");
    Files.writeString(list, "- x\n".repeat(200_000));
    ScoreCommandTest.Run r = ScoreCommandTest.run("train", "--config", list.toString());
    assertRefused(2, r, list + ": expected a mapping of flag names to values, got [x, x");
    assertTrue(r.err().length() < 400, r.err().length() + " characters");
    Path key = dir.resolve("key.json");
    Files.writeString(key, "{\"" + "k".repeat(40_000) + "\": 1}");
    r = ScoreCommandTest.run("train", "--config", key.toString());
    assertRefused(2, r, "unknown flag --kkk", "; see --help");
    assertTrue(r.err().length() < 400, r.err().length() + " characters (seed " + seed + ")");
  }

  private static ScoreCommandTest.Run prepare(Path image) {
    return ScoreCommandTest.run("prepare", "--model", model.toString(), "--image", image.toString(), "--text", "hi",
        "--out", dir.resolve("prep-" + System.nanoTime() + ".safetensors").toString());
  }

  /**
   * Old code: prepare decoded its --image files without the dataset's header checks and named none of them: a header
   * claiming more pixels than Pillow's bomb limit (random size here) ended in ImageIO's "Error reading PNG image data"
   * (a real bomb's pixels would have been decoded whole), a truncated PNG in the same words.
   */
  @Test
  void prepareChecksItsImagesAsTheDatasetDoesAndNamesThem() throws Exception {
    long seed = System.nanoTime();
    System.out.println("HostileFilesTest image seed " + seed);
    int side = 13_400 + new Random(seed).nextInt(20_000); // 13,400^2 is above 2 x 89,478,485
    Path bomb = dir.resolve("bomb.png");
    BadImageFiles.pngHeader(bomb, side, side);
    assertRefused(1, prepare(bomb), "--image " + bomb + ": the header gives " + side + "x" + side,
        "decompression-bomb limit");
    Path cut = dir.resolve("cut.png");
    Files.write(cut, Arrays.copyOf(BadImageFiles.pngBytes(84, 56, seed), 100));
    assertRefused(1, prepare(cut), "--image " + cut + ": truncated PNG");
    Path folder = Files.createDirectories(dir.resolve("folder.png"));
    assertRefused(1, prepare(folder), "--image " + folder + ": no image file at " + folder + ": it is a folder");
  }

  /**
   * Old code: a checkpoint whose weights are NaN (every byte 0xff) stopped sampling with libtorch's "amax(): Expected
   * reduction dim 1 to have non-zero size."; --max_new_tokens 2^31 - 1 with "Java heap space".
   */
  @Test
  void nanWeightsAndHeapSizedCompletionsAreExplained() throws IOException {
    Path m = modelCopy("nan-" + System.nanoTime());
    try (FileChannel c = FileChannel.open(m.resolve("model.safetensors"), StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      c.read(len, 0);
      long start = 8 + len.getLong(0);
      ByteBuffer nan = ByteBuffer.allocate((int) (c.size() - start));
      Arrays.fill(nan.array(), (byte) 0xff);
      c.write(nan, start);
    }
    ScoreCommandTest.Run r = ScoreCommandTest.run("generate", "--model", m.toString(), "--inputs", inputs.toString(),
        "--out", dir.resolve("gen-nan.safetensors").toString(), "--max_new_tokens", "2");
    assertRefused(1, r, "the logits hold no number to sample from (NaN: are the model's weights finite?)");
    r = ScoreCommandTest.run("generate", "--model", model.toString(), "--inputs", inputs.toString(), "--out",
        dir.resolve("gen-huge.safetensors").toString(), "--max_new_tokens", String.valueOf(Integer.MAX_VALUE));
    assertRefused(1, r, "max_new_tokens " + Integer.MAX_VALUE + " (train: --max_completion_length) for 1 rows needs",
        "more than half the Java heap");
  }

  /**
   * Old code: forward --inputs naming a fifo blocked in open() until a writer came (here a helper thread opens it after
   * 20 s; without one it hung for good), and then said "not a safetensors file (0 bytes, no header length)".
   */
  @Test
  void inputsThatAreAFifoAreRefusedWithoutOpeningThem() throws Exception {
    Path fifo = dir.resolve("inputs-fifo.safetensors");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
    Thread writer = new Thread(() -> {
      try {
        Thread.sleep(20_000);
        new java.io.FileOutputStream(fifo.toFile()).close(); // releases a reader stuck in open()
      } catch (IOException | InterruptedException e) {
        // the reader never came (the fixed code): nothing to release
      }
    });
    writer.setDaemon(true);
    writer.start();
    long t0 = System.nanoTime();
    ScoreCommandTest.Run r = forward(model, fifo);
    long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
    writer.interrupt();
    assertRefused(1, r, fifo + ": not a safetensors file: it is not a regular file (a pipe, socket or device)");
    assertTrue(seconds < 15, seconds + " s");
  }
}
