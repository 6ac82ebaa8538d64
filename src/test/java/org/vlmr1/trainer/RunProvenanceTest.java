// The starting model's fingerprint and the flags a checkpoint records: another model is refused naming both paths and
// what differs, the same model at another path is a warning, changed flags are listed.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunProvenanceTest {

  private static Path model(Path dir, String config, int shardBytes) throws Exception {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), config);
    Files.write(dir.resolve("model.safetensors"), new byte[shardBytes]);
    Files.writeString(dir.resolve("tokenizer.json"), "{}"); // not part of the fingerprint
    return dir;
  }

  private static Map<String, Object> args(String maxSteps, List<String> rewards) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("max_steps", maxSteps);
    m.put("reward_funcs", rewards);
    m.put("epsilon_high", null);
    return m;
  }

  @Test
  void refusesAnotherModelWarnsOnAMovedOneAndListsChangedFlags(@TempDir Path dir) throws Exception {
    Path a = model(dir.resolve("a"), "{\"hidden_size\": 32}", 100);
    Path ckpt = Files.createDirectories(dir.resolve("run/checkpoint-2"));
    new RunProvenance(ModelFingerprint.of(a), args("2", List.of("accuracy", "format"))).write(ckpt);

    assertEquals(List.of(), new RunProvenance(ModelFingerprint.of(a), args("2", List.of("accuracy", "format")))
        .check(ckpt));

    Path moved = model(dir.resolve("moved"), "{\"hidden_size\": 32}", 100);
    List<String> w = new RunProvenance(ModelFingerprint.of(moved), args("3", List.of("accuracy"))).check(ckpt);
    assertEquals(2, w.size(), w.toString());
    assertTrue(w.get(0).contains("starting model moved") && w.get(0).contains(a.toAbsolutePath().toString())
        && w.get(0).contains(moved.toAbsolutePath().toString()), w.get(0));
    assertEquals("flags changed since checkpoint-2 was saved: --max_steps: 2 -> 3, --reward_funcs: accuracy,format "
        + "-> accuracy", w.get(1));

    Path other = model(dir.resolve("other"), "{\"hidden_size\": 64}", 400);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new RunProvenance(ModelFingerprint.of(other), args("2", List.of("accuracy", "format"))).check(ckpt));
    assertTrue(e.getMessage().contains("trained from " + a.toAbsolutePath()) && e.getMessage().contains(
        "--model_name_or_path " + other.toAbsolutePath()) && e.getMessage().contains(
        "config.json differs; model.safetensors 100 -> 400 bytes"), e.getMessage());

    Path sameConfig = model(dir.resolve("same-config"), "{\"hidden_size\": 32}", 101);
    e = assertThrows(IllegalArgumentException.class,
        () -> new RunProvenance(ModelFingerprint.of(sameConfig), Map.of()).check(ckpt));
    assertTrue(e.getMessage().contains("(model.safetensors 100 -> 101 bytes)"), e.getMessage());
  }

  @Test
  void aCheckpointWithoutProvenanceIsResumedWithAWarning(@TempDir Path dir) throws Exception {
    Path a = model(dir.resolve("a"), "{}", 10);
    Path ckpt = Files.createDirectories(dir.resolve("checkpoint-1"));
    List<String> w = new RunProvenance(ModelFingerprint.of(a), Map.of()).check(ckpt);
    assertEquals(1, w.size());
    assertTrue(w.get(0).contains("records no starting model"), w.get(0));
  }
}
