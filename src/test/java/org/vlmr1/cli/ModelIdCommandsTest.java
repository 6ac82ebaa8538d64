// Every model-taking command resolves Hugging Face ids through the local hub cache of the environment it is given
// (HubCache): an id that is not cached fails naming the hub folder, and a cached one runs (prepare).
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.module.HfTokenizerTest;

class ModelIdCommandsTest {

  /** Main.run with an environment of its own; returns the exit code and stderr. */
  static ScoreCommandTest.Run run(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = Main.run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), env);
    return new ScoreCommandTest.Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void anUncachedIdFailsNamingTheHubCache(@TempDir Path dir) throws Exception {
    Map<String, String> env = Map.of("HF_HUB_CACHE", dir.resolve("hub").toString());
    String d = Files.writeString(dir.resolve("d.jsonl"), "").toString();
    String out = dir.resolve("o").toString();
    String id = "vlmr1-test-nobody/no-such-model";
    List<String[]> commands = List.of(
        new String[] {"prepare", "--model", id, "--text", "t", "--out", out},
        new String[] {"forward", "--model", id, "--inputs", d, "--out", out},
        new String[] {"generate", "--model", id, "--inputs", d, "--out", out},
        new String[] {"eval", "--model", id, "--data_file_paths", d, "--image_folders", d},
        new String[] {"sft", "--model_name_or_path", id, "--data_file_paths", d, "--image_folders", d,
            "--output_dir", out});
    for (String[] c : commands) {
      ScoreCommandTest.Run r = run(env, c);
      assertEquals(1, r.rc(), c[0] + ": " + r.err());
      assertTrue(r.err().contains(dir.resolve("hub/models--vlmr1-test-nobody--no-such-model/refs/main").toString())
          && r.err().contains("HF_HUB_CACHE="), c[0] + ": " + r.err());
    }
  }

  @Test
  void prepareRunsOnACachedId(@TempDir Path dir) throws Exception {
    Path ckpt = PrepareCommandTest.caseA().resolve("checkpoint");
    Path repo = dir.resolve("hf/hub/models--tiny-org--tiny-qwen");
    Files.createDirectories(repo.resolve("refs"));
    Files.writeString(repo.resolve("refs/main"), "abc123");
    Path snap = Files.createDirectories(repo.resolve("snapshots/abc123"));
    try (var files = Files.list(ckpt)) {
      for (Path p : files.toList()) {
        Files.createSymbolicLink(snap.resolve(p.getFileName()), p.toAbsolutePath());
      }
    }
    Path tok = HfTokenizerTest.qwenTokenizer(dir);
    Path out = dir.resolve("in.safetensors");
    ScoreCommandTest.Run r = run(Map.of("HF_HOME", dir.resolve("hf").toString()), "prepare", "--model",
        "tiny-org/tiny-qwen", "--tokenizer", tok.toString(), "--text", "hello", "--out", out.toString());
    assertEquals(0, r.rc(), r.err());
    assertTrue(SafeTensorsFile.open(out).entries().containsKey("input_ids"));
  }
}
