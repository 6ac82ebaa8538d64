// Issue 14, "Nothing overwritten or mis-explained": outputs that would overwrite the input or someone's folder are
// refused without --overwrite, stray words are usage errors naming the word, and every user error names the file (and
// line) or the flag with its accepted values. Each case ran on the old code and gave the result its comment names.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.module.HfTokenizer;

class UserErrorsTest {
  @TempDir
  static Path dir;
  private static Path data;
  private static Path model;

  @BeforeAll
  static void fixtures() {
    data = dir.resolve("data");
    model = dir.resolve("tiny");
    TinyFixture.write(data, 4, 56, 56, model);
  }

  /** train with the fixture's model and data, one tiny step, and {@code extra} flags after (they win). */
  private static ScoreCommandTest.Run train(String... extra) {
    List<String> args = new ArrayList<>(List.of("train", "--model_name_or_path", model.toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--output_dir", dir.resolve("run-" + System.nanoTime()).toString(), "--max_steps", "1",
        "--num_generations", "2", "--per_device_train_batch_size", "2", "--max_completion_length", "4"));
    args.addAll(List.of(extra));
    return ScoreCommandTest.run(args.toArray(String[]::new));
  }

  private static void assertRefused(int rc, ScoreCommandTest.Run r, String... parts) {
    assertEquals(rc, r.rc(), r.err());
    for (String p : parts) {
      assertTrue(r.err().contains(p), "'" + p + "' in: " + r.err());
    }
  }

  /** A copy of the tiny checkpoint with {@code file} replaced by {@code content}. */
  private static Path brokenModel(String name, String file, String content) throws IOException {
    Path copy = dir.resolve(name);
    Files.createDirectories(copy);
    try (Stream<Path> s = Files.list(model)) {
      for (Path p : s.toList()) {
        Files.copy(p, copy.resolve(p.getFileName()));
      }
    }
    Files.writeString(copy.resolve(file), content);
    return copy;
  }

  /** Old code: exit 0, the input replaced by its scores. */
  @Test
  void scoreRefusesToReplaceItsInputUnlessOverwrite() throws IOException {
    Path in = dir.resolve("completions.jsonl");
    String text = "{\"completion\":\"<answer>[1,2,3,4]</answer>\",\"solution\":\"[1,2,3,4]\",\"id\":7}\n";
    Files.writeString(in, text);
    Path alias = dir.resolve("./completions.jsonl");
    assertRefused(2, ScoreCommandTest.run("score", "--in", in.toString(), "--out", alias.toString()),
        "--out " + alias, "is the input file", "--overwrite");
    assertEquals(text, Files.readString(in), "the input is untouched");
    ScoreCommandTest.Run ok = ScoreCommandTest.run("score", "--in", in.toString(), "--out", in.toString(),
        "--overwrite");
    assertEquals(0, ok.rc(), ok.err());
    assertTrue(Files.readString(in).startsWith("{\"id\":7,\"rewards\":"), Files.readString(in));
    try (Stream<Path> s = Files.list(dir)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary file is left");
    }
  }

  /** Old code: exit 0, writing over the folder's files. */
  @Test
  void initTinyAndMakeSyntheticRefuseANonEmptyFolderUnlessOverwrite() throws IOException {
    Path out = dir.resolve("occupied");
    Files.createDirectories(out);
    Files.writeString(out.resolve("notes.txt"), "mine");
    assertRefused(2, ScoreCommandTest.run("make-synthetic", "--out", out.toString(), "--n", "2"),
        "--out " + out + " is not empty", "notes.txt", "--overwrite");
    assertRefused(2, ScoreCommandTest.run("init-tiny", "--out", out.toString(), "--hidden_size", "32"),
        "--out " + out + " is not empty", "notes.txt", "--overwrite");
    assertFalse(Files.exists(out.resolve("data.jsonl")) || Files.exists(out.resolve("config.json")));
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", out.toString(), "--n", "2", "--width", "56",
        "--height", "56", "--overwrite").rc());
    assertTrue(Files.exists(out.resolve("data.jsonl")) && Files.exists(out.resolve("notes.txt")));
    Path empty = dir.resolve("empty");
    Files.createDirectories(empty);
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", empty.toString(), "--n", "2", "--width", "56",
        "--height", "56").rc(), "an empty folder is fine");
    Path file = dir.resolve("a-file");
    Files.writeString(file, "x");
    assertRefused(2, ScoreCommandTest.run("make-synthetic", "--out", file.toString(), "--overwrite"),
        "--out " + file + " is a file");
  }

  /** Old code: the extra words were dropped (train ran, or stopped on a missing flag); score ran. */
  /** --max_generation_rows (issue 15): a cap below 0 is refused by name; a cap that splits the batch trains. */
  @Test
  void maxGenerationRowsIsCheckedAndHonoured() {
    assertRefused(2, train("--max_generation_rows", "-1"), "--max_generation_rows must be >= 0");
    ScoreCommandTest.Run ok = train("--max_generation_rows", "1");
    assertEquals(0, ok.rc(), ok.err());
  }

  @Test
  void strayWordsAreUsageErrorsNamingTheWord() {
    assertRefused(2, train("--save_steps", "1", "5", "typo"),
        "unexpected words '5' 'typo' after --save_steps 1", "--save_steps takes one value");
    assertRefused(2, ScoreCommandTest.run("score", "typo", "--in", "a.jsonl", "--out", "b.jsonl"),
        "unexpected word 'typo'", "score takes no positional arguments");
    assertRefused(2, ScoreCommandTest.run("train", "--bf16", "maybe"),
        "unexpected word 'maybe' after --bf16", "boolean");
    assertRefused(2, ScoreCommandTest.run("bench", "kernels", "extra"), "unexpected word 'extra'");
    // list flags keep taking several words
    Flags f = Flags.parse(new TrainCommand().flags(), List.of("--reward_funcs", "accuracy", "format", "length"),
        new PrintStream(new ByteArrayOutputStream()));
    f.rejectPositionalsBeyond(0, "train");
    assertEquals(List.of("accuracy", "format", "length"), f.getList("reward_funcs"));
  }

  /** Old code: "No enum constant ...OnBadSample.IGNORE" (exit 1), "unknown loss type 'x'" (no flag, exit 1). */
  @Test
  void enumFlagsListTheirAcceptedValues() {
    assertRefused(2, train("--on_bad_sample", "ignore"), "--on_bad_sample takes fail or skip, got 'ignore'");
    assertRefused(2, train("--loss_type", "ppo"), "--loss_type takes grpo, bnpo, dr_grpo or dapo, got 'ppo'");
    assertRefused(2, ScoreCommandTest.run("make-synthetic", "--out", dir.resolve("x").toString(), "--background",
        "plaid"), "--background takes flat or gradient, got 'plaid'");
  }

  /** Old code: max_steps 0 and -5 trained for an epoch, save_steps -1 ran, an output_dir file gave only its path. */
  @Test
  void stepFlagsAndOutputDirAreChecked() throws IOException {
    assertRefused(2, train("--max_steps", "0"), "--max_steps takes -1", "or a step count >= 1, got 0");
    assertRefused(2, train("--max_steps", "-5"), "--max_steps", "got -5");
    assertRefused(2, train("--save_steps", "-1"), "--save_steps takes a step count >= 0", "got -1");
    Path file = dir.resolve("run-file");
    Files.writeString(file, "x");
    assertRefused(2, train("--output_dir", file.toString()), "--output_dir " + file + " is a file");
    assertRefused(2, train("--beta", "-1"), "--beta must be >= 0 (0: no KL term), got -1.0");
  }

  /**
   * Old code: a misspelt --ops (or a --dtypes the suite has no row of) ran no row, exited 0 and replaced the suite's
   * CSV with a header-only one (kernels: with the copy-bandwidth row only).
   */
  @Test
  void benchOpsThatMatchNoRowAreUsageErrors() {
    assertRefused(2, ScoreCommandTest.run("bench", "score", "--quick", "--ops", "scroe"),
        "bench score: no row matches --ops scroe --dtypes (all); its ops: score; its dtypes: text");
    assertRefused(2, ScoreCommandTest.run("bench", "score", "--quick", "--dtypes", "f32"),
        "bench score: no row matches --ops (all) --dtypes f32");
    assertRefused(2, ScoreCommandTest.run("bench", "kernels", "--quick", "--ops", "grpoLos"),
        "bench kernels: no row matches --ops grpoLos", "grpoLoss, grpoLossFromHidden");
  }

  /**
   * Old code: eval --batch_size 0 failed with "/ by zero"; eval over a data file with no examples printed accuracy
   * 0.0000 and mean IoU 0.0000 "over 0 examples" and exited 0.
   */
  @Test
  void evalRefusesAZeroBatchAndAnEmptyDataset() throws IOException {
    Path empty = dir.resolve("empty.jsonl");
    Files.writeString(empty, "");
    List<String> eval = List.of("eval", "--model", model.toString(), "--image_folders", data.toString(),
        "--max_new_tokens", "2", "--data_file_paths");
    List<String> args = new ArrayList<>(eval);
    args.addAll(List.of(data.resolve("data.jsonl").toString(), "--batch_size", "0"));
    assertRefused(2, ScoreCommandTest.run(args.toArray(String[]::new)), "--batch_size must be >= 1, got 0");
    args = new ArrayList<>(eval);
    args.add(empty.toString());
    assertRefused(2, ScoreCommandTest.run(args.toArray(String[]::new)), "eval: " + empty
        + " holds no examples to evaluate");
  }

  /** Old code: "Input length = 1" and "data file D does not exist", naming neither line nor the folder. */
  @Test
  void dataFilesThatAreBinaryOrFoldersAreNamed() throws IOException {
    Path bin = dir.resolve("mixed.jsonl");
    List<String> lines = Files.readAllLines(data.resolve("data.jsonl"));
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 300; i++) { // enough text that the reader decodes ahead into later lines
      sb.append(lines.get(i % lines.size())).append('\n');
    }
    byte[] head = sb.toString().getBytes(StandardCharsets.UTF_8);
    byte[] all = java.util.Arrays.copyOf(head, head.length + 4);
    all[head.length] = (byte) 0xff;
    all[head.length + 1] = (byte) 0xfe;
    all[head.length + 2] = 'x';
    all[head.length + 3] = '\n';
    Files.write(bin, all);
    assertRefused(1, train("--data_file_paths", bin.toString()), "data file " + bin + ", line 301: not UTF-8 text");
    assertRefused(1, train("--data_file_paths", data.toString()), "data file " + data + " is a folder");
  }

  /** Old code: Jackson's or the tokenizer's message without a file; "sixty-four" read as 0 ("head_dim/2 = 0"). */
  @Test
  void brokenCheckpointFilesAreNamed() throws IOException {
    Path cfg = brokenModel("bad-config", "config.json", "{not json");
    assertRefused(1, train("--model_name_or_path", cfg.toString()),
        cfg.resolve("config.json") + " is not valid JSON (line 1, column 2)");
    Path tok = brokenModel("bad-tokenizer", "tokenizer.json", "{not json");
    assertRefused(1, train("--model_name_or_path", tok.toString()),
        tok.resolve("tokenizer.json") + " is not a valid tokenizer.json: ");
    String config = Files.readString(model.resolve("config.json"));
    String words = config.replaceFirst("\"hidden_size\" ?: ?32", "\"hidden_size\" : \"sixty-four\"");
    assertFalse(words.equals(config), "the fixture's config.json has hidden_size 32");
    Path named = brokenModel("words", "config.json", words);
    assertRefused(1, train("--model_name_or_path", named.toString()),
        named.resolve("config.json") + ": hidden_size must be an integer, got \"sixty-four\"");
  }

  /** Old code: "malformed JSON: Unrecognized token 'junk'"; a wrong type was a ClassCastException. */
  @Test
  void junkResumeStateIsNamed() throws IOException {
    Path run = dir.resolve("resume-run");
    Path ckpt = Files.createDirectories(run.resolve("checkpoint-1"));
    try (Stream<Path> s = Files.list(model)) {
      for (Path p : s.toList()) {
        Files.copy(p, ckpt.resolve(p.getFileName()));
      }
    }
    Path state = ckpt.resolve("resume_state.json");
    Files.writeString(state, "junk");
    assertRefused(1, train("--output_dir", run.toString(), "--max_steps", "2"),
        state + " is not valid JSON (line 1, column 1)");
    Files.writeString(state, "{\"step\": \"one\", \"epoch\": 0, \"cursor\": 0, \"seed\": 42}");
    assertRefused(1, train("--output_dir", run.toString(), "--max_steps", "2"),
        state + ": step must be an integer, got \"one\"");
  }

  /**
   * DJL's "Failed to detect GPU count: CUDA driver version is insufficient" (twice when the tokenizers library
   * loads): the logger is silenced once HfTokenizer is used. On a machine without a CUDA runtime DJL says nothing
   * either way; with one but no driver (this one), the old code recorded the WARNING below.
   */
  @Test
  void djlGpuWarningIsSilenced() {
    HfTokenizer.load(model).close();
    Logger cuda = Logger.getLogger("ai.djl.util.cuda.CudaUtils");
    List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());
    Handler h = new Handler() {
      @Override
      public void publish(LogRecord r) {
        records.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    cuda.addHandler(h);
    try {
      ai.djl.util.cuda.CudaUtils.getGpuCount();
    } finally {
      cuda.removeHandler(h);
    }
    assertTrue(records.stream().noneMatch(r -> r.getLevel().intValue() <= Level.WARNING.intValue()),
        () -> records.stream().map(LogRecord::getMessage).toList().toString());
  }

  /**
   * Old code: --learning_rate Infinity, --reward_weights NaN,1 and a --save_total_limit below 0 (random here) trained
   * (exit 0: NaN weights written, every step skipped as non-finite, a limit below 0 taken); --temperature Infinity was
   * exit 1 "temperature must be > 0, got Infinity"; score wrote "total":"NaN".
   */
  @Test
  void nonFiniteOrNegativeValuesAreRefusedByName() throws IOException {
    long seed = System.nanoTime();
    System.out.println("UserErrorsTest seed " + seed);
    int limit = -1 - new Random(seed).nextInt(1000);
    assertRefused(2, train("--learning_rate", "Infinity"), "--learning_rate must be a finite number >= 0, got "
        + "Infinity");
    assertRefused(2, train("--temperature", "Infinity"), "--temperature must be a finite number > 0, got Infinity");
    assertRefused(2, train("--reward_weights", "NaN,1"), "--reward_weights must be finite numbers, got NaN");
    assertRefused(2, train("--save_total_limit", String.valueOf(limit)), "--save_total_limit takes a checkpoint "
        + "count >= 0 (0: keep all), got " + limit);
    Path in = dir.resolve("weights.jsonl");
    Files.writeString(in, "{\"completion\":\"<answer>[1,2,3,4]</answer>\",\"solution\":\"[1,2,3,4]\"}\n");
    assertRefused(2, ScoreCommandTest.run("score", "--in", in.toString(), "--out", dir.resolve("w.jsonl").toString(),
        "--reward_funcs", "accuracy,format", "--reward_weights", "1,-Infinity"),
        "--reward_weights must be finite numbers, got -Infinity");
  }

  /**
   * Old code: "image P does not exist" for an image path that is a folder, a fifo or a link to nothing, and "data file
   * D does not exist" for a fifo.
   */
  @Test
  void imagePathsThatAreNotFilesSayWhatTheyAre() throws Exception {
    Path bad = Files.createDirectories(dir.resolve("not-files"));
    Files.createDirectories(bad.resolve("folder.png"));
    Files.createSymbolicLink(bad.resolve("dangling.png"), bad.resolve("missing.png"));
    Process mkfifo = new ProcessBuilder("mkfifo", bad.resolve("fifo.png").toString()).start();
    assertEquals(0, mkfifo.waitFor());
    String line = Files.readAllLines(data.resolve("data.jsonl")).get(0);
    String[][] cases = {{"folder.png", "is a folder"}, {"fifo.png", "is not a regular file (a pipe, socket or device)"},
        {"dangling.png", "is a symbolic link to nothing"}};
    for (String[] c : cases) {
      Path jsonl = bad.resolve(c[0] + ".jsonl");
      Files.writeString(jsonl, line.replaceFirst("\"image\": ?\"[^\"]*\"", "\"image\": \"" + c[0] + "\"") + "\n");
      assertRefused(1, train("--data_file_paths", jsonl.toString(), "--image_folders", bad.toString()),
          jsonl.getFileName() + ":1: image " + bad.resolve(c[0]) + " " + c[1]);
    }
    Path fifo = bad.resolve("fifo.png");
    assertRefused(1, train("--data_file_paths", fifo.toString()), "data file " + fifo
        + " is not a regular file (a pipe, socket or device)");
  }
}
