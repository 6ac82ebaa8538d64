// train's run folder end to end: a second run on a held folder is refused naming the holder's pid; a resume checks
// the checkpoint's manifest (a truncated optimizer.pt falls back to the checkpoint before, or is an error when named
// explicitly) and its starting model (another model is refused, a moved one is a warning, changed flags are listed);
// a save that cannot fit on a real small tmpfs stops with "no space left on device", keeping the earlier checkpoints.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.trainer.RunLock;
import org.vlmr1.trainer.RunWriter;
import org.vlmr1.util.Json;

class RunFolderTest {

  /** A command's exit code and what it printed on stdout and stderr (warnings go to System.err). */
  static ScoreCommandTest.Run run(List<String> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    try {
      PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(e);
      int rc = Main.run(args, System.out, e);
      return new ScoreCommandTest.Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  /** Synthetic data and a tiny model (hidden 32, one layer) under dir. */
  static void fixture(Path dir) {
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", dir.resolve("data").toString(), "--n", "4",
        "--width", "84", "--height", "56").rc());
    assertEquals(0, ScoreCommandTest.run("init-tiny", "--out", dir.resolve("tiny").toString(), "--hidden_size", "32",
        "--num_layers", "1", "--vision_depth", "1").rc());
  }

  static List<String> train(Path dir, Path model, Path out, int maxSteps, String... more) {
    List<String> a = new ArrayList<>(List.of("train", "--model_name_or_path", model.toString(), "--data_file_paths",
        dir.resolve("data/data.jsonl").toString(), "--image_folders", dir.resolve("data").toString(),
        "--reward_funcs", "length", "--num_generations", "2", "--per_device_train_batch_size", "4",
        "--max_completion_length", "4", "--max_steps", String.valueOf(maxSteps), "--max_pixels", "12544",
        "--save_steps", "1", "--output_dir", out.toString()));
    a.addAll(List.of(more));
    return a;
  }

  @Test
  void aSecondRunOnAHeldFolderIsRefusedNamingThePid(@TempDir Path dir) throws Exception {
    fixture(dir);
    Path out = dir.resolve("run");
    try (RunLock held = RunLock.acquire(out)) {
      ScoreCommandTest.Run r = run(train(dir, dir.resolve("tiny"), out, 1));
      assertNotEquals(0, r.rc());
      assertTrue(r.err().contains("is in use by another train run (pid " + ProcessHandle.current().pid()), r.err());
      assertFalse(Files.exists(out.resolve("metrics.jsonl")), "the refused run wrote nothing");
    }
  }

  @Test
  void resumeVerifiesTheCheckpointAndItsStartingModel(@TempDir Path dir) throws Exception {
    fixture(dir);
    Path tiny = dir.resolve("tiny");
    Path out = dir.resolve("run");
    ScoreCommandTest.Run first = run(train(dir, tiny, out, 2));
    assertEquals(0, first.rc(), first.err());
    Path two = out.resolve("checkpoint-2");
    @SuppressWarnings("unchecked")
    Map<String, Object> args = (Map<String, Object>) Json.parse(Files.readString(two.resolve("vlmr1_args.json")));
    assertEquals("2", args.get("max_steps"));
    assertEquals(List.of("length"), args.get("reward_funcs"));
    assertTrue(Files.isRegularFile(two.resolve("vlmr1_fingerprint.json")));
    String manifest = Files.readString(two.resolve("vlmr1_manifest.json"));
    for (String f : List.of("optimizer.pt", "model.safetensors", "resume_state.json", "trainer_state.json",
        "vlmr1_args.json", "config.json")) {
      assertTrue(manifest.contains("\"" + f + "\""), f + " in " + manifest);
    }
    long size = Files.size(two.resolve("optimizer.pt"));
    try (RandomAccessFile f = new RandomAccessFile(two.resolve("optimizer.pt").toFile(), "rw")) {
      f.setLength(size / 2);
    }

    // Named explicitly, a checkpoint that fails verification is an error.
    ScoreCommandTest.Run named = run(train(dir, tiny, out, 3, "--resume_from_checkpoint", two.toString()));
    assertEquals(2, named.rc(), named.err());
    assertTrue(named.err().contains("fails verification: optimizer.pt is " + size / 2 + " bytes, "
        + "vlmr1_manifest.json says " + size), named.err());

    // Another starting model would change the KL reference: refused, naming both paths and what differs.
    Path other = dir.resolve("other");
    ScoreCommandTest.Run init = ScoreCommandTest.run("init-tiny", "--out", other.toString(), "--hidden_size", "32",
        "--num_layers", "2", "--vision_depth", "1");
    assertEquals(0, init.rc(), init.err());
    ScoreCommandTest.Run wrong = run(train(dir, other, out, 3));
    assertEquals(2, wrong.rc(), wrong.err());
    assertTrue(wrong.err().contains("was trained from " + tiny.toAbsolutePath()) && wrong.err().contains(
        "--model_name_or_path " + other.toAbsolutePath() + " is another model (config.json differs"), wrong.err());

    // The same model moved, and more steps: resumes from checkpoint-1 (checkpoint-2 skipped, saying why) with
    // warnings for the path and the changed flags.
    Path moved = dir.resolve("moved");
    Files.createDirectories(moved);
    try (Stream<Path> s = Files.list(tiny)) {
      for (Path p : s.toList()) {
        Files.copy(p, moved.resolve(p.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
    ScoreCommandTest.Run more = run(train(dir, moved, out, 3));
    assertEquals(0, more.rc(), more.err());
    assertTrue(more.err().contains("warning: checkpoint-2 skipped: optimizer.pt is " + size / 2 + " bytes, "
        + "vlmr1_manifest.json says " + size), more.err());
    assertTrue(more.out().contains("resuming from " + out.resolve("checkpoint-1")), more.out());
    assertTrue(more.err().contains("warning: the starting model moved"), more.err());
    assertTrue(more.err().contains("flags changed since checkpoint-1 was saved: --model_name_or_path: " + tiny + " -> "
        + moved + ", --max_steps: 2 -> 3"), more.err());
    assertTrue(Files.isRegularFile(out.resolve("checkpoint-3/vlmr1_manifest.json")));
  }

  /** Whether this machine lets an unprivileged process mount a tmpfs in its own user and mount namespace. */
  private static boolean canMountTmpfs(Path dir) throws Exception {
    Path m = Files.createDirectories(dir.resolve("probe"));
    try {
      Process p = new ProcessBuilder("unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs \"$0\"",
          m.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (java.io.IOException e) {
      return false; // no unshare
    }
  }

  /**
   * A real small disk: checkpoint-1 of a run is copied onto a tmpfs with 8 MiB to spare (inside a user and mount
   * namespace, where a train process started in it sees the mount); resuming there, the save of step 2 stops with
   * "no space left on device" before writing, instead of libtorch's abort, and checkpoint-1 stays intact.
   */
  @Test
  void aSaveThatCannotFitStopsBeforeWritingAndKeepsTheEarlierCheckpoints(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(canMountTmpfs(dir), "this machine does not let an unprivileged user mount a tmpfs "
        + "(unshare -rm; mount -t tmpfs), so the real disk-full case cannot run here; DiskSpaceTest covers the check");
    fixture(dir);
    Path run = dir.resolve("run");
    ScoreCommandTest.Run first = run(train(dir, dir.resolve("tiny"), run, 1));
    assertEquals(0, first.rc(), first.err());
    long used;
    try (Stream<Path> s = Files.walk(run)) {
      used = s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
    Path mnt = Files.createDirectories(dir.resolve("tmpfs"));
    Path res = Files.createDirectories(dir.resolve("result"));
    List<String> java = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-Xmx2g",
        "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    java.addAll(train(dir, dir.resolve("tiny"), mnt.resolve("run"), 2));
    // In the namespace: mount M, copy the run onto it, resume there, and report what is left ($1: the run; then java).
    String script = "set -e; mount -t tmpfs -o size=" + (used + (8L << 20)) + " tmpfs \"$M\"; "
        + "cp -r \"$1\" \"$M/run\"; shift; set +e; \"$@\" > \"$R/out\" 2> \"$R/err\"; echo $? > \"$R/rc\"; "
        + "ls -a \"$M/run\" > \"$R/ls\"; cp -r \"$M/run/checkpoint-1\" \"$R/kept\"";
    List<String> cmd = new ArrayList<>(List.of("unshare", "-rm", "sh", "-c", script, "sh", run.toString()));
    cmd.addAll(java);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put("R", res.toString());
    pb.environment().put("M", mnt.toString());
    Process p = pb.start();
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the train process in the namespace ended");
    String err = Files.readString(res.resolve("err"));
    assertEquals("1", Files.readString(res.resolve("rc")).trim(), err);
    assertTrue(err.contains("vlmr1: no space left on device: " + mnt.resolve("run").toAbsolutePath() + " has "), err);
    assertTrue(err.contains("the checkpoint of step 2 needs "), err);
    List<String> left = Files.readAllLines(res.resolve("ls"));
    assertTrue(left.contains("checkpoint-1") && left.stream().noneMatch(f -> f.startsWith(".tmp-checkpoint")),
        left.toString());
    Path kept = Files.createDirectories(dir.resolve("kept-run"));
    Files.move(res.resolve("kept"), kept.resolve("checkpoint-1"));
    List<String> said = new ArrayList<>();
    assertEquals(kept.resolve("checkpoint-1"), RunWriter.resumableCheckpoint(kept, said::add));
    assertEquals(List.of(), said, "checkpoint-1 verifies");
  }
}
