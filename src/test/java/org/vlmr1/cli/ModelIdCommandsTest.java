// Every model-taking command resolves Hugging Face ids through the local hub cache (HubCache): an id that is not
// cached fails with the hub folder named, and a cached one runs (prepare, in a child JVM with HF_HUB_CACHE set).
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.module.HfTokenizerTest;

class ModelIdCommandsTest {
  static final String MISSING = "vlmr1-test-nobody/no-such-model";

  @Test
  void anUncachedIdFailsNamingTheHubCache(@TempDir Path dir) throws Exception {
    Path f = Files.writeString(dir.resolve("d.jsonl"), "");
    String d = f.toString();
    String out = dir.resolve("o").toString();
    List<String[]> commands = List.of(
        new String[] {"prepare", "--model", MISSING, "--text", "t", "--out", out},
        new String[] {"forward", "--model", MISSING, "--inputs", d, "--out", out},
        new String[] {"generate", "--model", MISSING, "--inputs", d, "--out", out},
        new String[] {"eval", "--model", MISSING, "--data_file_paths", d, "--image_folders", d},
        new String[] {"sft", "--model_name_or_path", MISSING, "--data_file_paths", d, "--image_folders", d,
            "--output_dir", out});
    for (String[] c : commands) {
      ScoreCommandTest.Run r = ScoreCommandTest.run(c);
      assertEquals(1, r.rc(), c[0] + ": " + r.err());
      assertTrue(r.err().contains("models--vlmr1-test-nobody--no-such-model/refs/main"), c[0] + ": " + r.err());
    }
  }

  @Test
  void prepareRunsOnACachedId(@TempDir Path dir) throws Exception {
    Path ckpt = PrepareCommandTest.caseA().resolve("checkpoint");
    Path repo = dir.resolve("hub/models--tiny-org--tiny-qwen");
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
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-Xmx1g",
        "-cp", System.getProperty("java.class.path"), "org.vlmr1.cli.Main", "prepare", "--model", "tiny-org/tiny-qwen",
        "--tokenizer", tok.toString(), "--text", "hello", "--out", out.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve("log.txt").toFile());
    pb.environment().remove("HUGGINGFACE_HUB_CACHE");
    pb.environment().put("HF_HUB_CACHE", dir.resolve("hub").toString());
    Process p = pb.start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "prepare finished");
    assertEquals(0, p.exitValue(), Files.readString(dir.resolve("log.txt")));
    assertTrue(SafeTensorsFile.open(out).entries().containsKey("input_ids"));
  }
}
