// Issue 14, "Stopping": SIGTERM / SIGINT end a run within 10 s with exit 143 / 130, whether it was started through
// bin/vlmr1 or as a plain java command with no environment variables, through the data-parallel launcher or aimed at
// one of its workers; the next run on the same folder resumes. Signals land at random moments (the seed is printed):
// during JVM start, libtorch loading, steps and checkpoint saves.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.trainer.RunWriter;
import org.vlmr1.util.StopSignals.Stop;

@Tag("slow")
class StopSignalsTest {
  /** The bound from the signal to the end of every process. */
  private static final long LIMIT_S = 10;

  @TempDir
  static Path dir;

  @BeforeAll
  static void fixtures() throws Exception {
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", dir.resolve("data").toString(), "--n", "12",
        "--width", "84", "--height", "56").rc());
    assertEquals(0, ScoreCommandTest.run("init-tiny", "--out", dir.resolve("tiny").toString(), "--hidden_size", "32",
        "--num_layers", "1", "--vision_depth", "1").rc());
  }

  private static List<String> trainArgs(Path out, int maxSteps) {
    return List.of("train", "--model_name_or_path", dir.resolve("tiny").toString(), "--data_file_paths",
        dir.resolve("data/data.jsonl").toString(), "--image_folders", dir.resolve("data").toString(), "--task_type",
        "rec", "--reward_funcs", "length", "--num_generations", "2", "--per_device_train_batch_size", "4",
        "--max_completion_length", "8", "--max_steps", String.valueOf(maxSteps), "--learning_rate", "1e-2",
        "--seed", "11", "--max_pixels", "12544", "--save_steps", "1", "--output_dir", out.toString());
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** A plain java command with no environment variables at all. */
  private static ProcessBuilder plainJava(List<String> mainAndArgs) {
    List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx1g", "-cp", System.getProperty("java.class.path")));
    cmd.addAll(mainAndArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().clear();
    return pb;
  }

  /**
   * bin/vlmr1 as written, from a copy whose target/ holds this build's classes and class path and a fresh build
   * stamp, so that it runs java at once instead of building.
   */
  private static ProcessBuilder script(List<String> args) throws IOException {
    Path home = dir.resolve("home");
    Path bin = home.resolve("bin/vlmr1");
    if (!Files.exists(bin)) {
      Files.createDirectories(bin.getParent());
      Files.copy(Path.of("bin/vlmr1"), bin);
      Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.createDirectories(home.resolve("src/main"));
      Files.createDirectories(home.resolve("target"));
      Files.createSymbolicLink(home.resolve("target/classes"), Path.of("target/classes").toAbsolutePath());
      Files.writeString(home.resolve("target/classpath.txt"), System.getProperty("java.class.path"));
      Files.writeString(home.resolve("target/.vlmr1-build-stamp"), "");
    }
    List<String> cmd = new ArrayList<>(List.of(bin.toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().put("VLMR1_JAVA_OPTS", "-Xmx1g");
    return pb;
  }

  /** SIGINT is ignored by a process started from a non-interactive shell's background job, and so by its children. */
  private static boolean sigintIgnoredHere() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("SigIgn:")) {
        return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << 1)) != 0;
      }
    }
    return false;
  }

  private static void signal(long pid, Stop s) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + s.name(), String.valueOf(pid)).inheritIO().start();
    assertEquals(0, kill.waitFor(), "kill -" + s.name() + " " + pid);
  }

  /** Sends {@code s} to {@code target} and checks that every process in {@code all} ends within the limit. */
  private static void stopAndCheck(Process main, long target, List<ProcessHandle> all, Stop s, String what,
      Path log) throws Exception {
    signal(target, s);
    long t0 = System.nanoTime();
    boolean ended = main.waitFor(LIMIT_S, TimeUnit.SECONDS);
    for (ProcessHandle h : all) {
      long left = TimeUnit.SECONDS.toNanos(LIMIT_S) - (System.nanoTime() - t0);
      ended &= !h.onExit().completeOnTimeout(h, Math.max(0, left), TimeUnit.NANOSECONDS).join().isAlive();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    all.forEach(ProcessHandle::destroyForcibly);
    main.destroyForcibly();
    if (!ended) {
      fail(what + ": still running " + LIMIT_S + " s after SIG" + s.name() + "\n" + Files.readString(log));
    }
    System.out.printf("%s: SIG%s, ended in %.2f s, exit %d%n", what, s.name(), seconds, main.exitValue());
    assertEquals(s.exitCode(), main.exitValue(), what + " exit code\n" + Files.readString(log));
  }

  @Test
  void twentySignalsAtRandomMomentsOfATinyRun() throws Exception {
    long seed = System.nanoTime();
    System.out.println("StopSignalsTest seed " + seed);
    Random rnd = new Random(seed);
    boolean noSigint = sigintIgnoredHere();
    if (noSigint) {
      System.out.println("SIGINT is ignored by this JVM (a background job), so its children cannot get it: "
          + "SIGTERM only");
    }
    Path out = dir.resolve("run");
    int afterASave = 0;
    for (int i = 0; i < 20; i++) {
      boolean viaScript = i % 2 == 0;
      Stop s = noSigint || i % 4 < 2 ? Stop.TERM : Stop.INT;
      ProcessBuilder pb = viaScript ? script(trainArgs(out, 1000))
          : plainJava(Stream.concat(Stream.of(Main.class.getName()), trainArgs(out, 1000).stream()).toList());
      Path log = dir.resolve("try-" + i + ".log");
      Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
      long delay = 300 + rnd.nextInt(7000);
      Thread.sleep(delay);
      assertTrue(p.isAlive(), "try " + i + " ended before its signal\n" + Files.readString(log));
      stopAndCheck(p, p.pid(), p.descendants().toList(), s, "try " + i + " (" + (viaScript ? "bin/vlmr1"
          : "plain java, empty environment") + ", signal after " + delay + " ms)", log);
      afterASave += Files.readString(log).contains("saved ") ? 1 : 0;
    }
    // The next run resumes from the newest complete checkpoint (or starts clean) and finishes its next step.
    Path latest = RunWriter.latestCheckpoint(out);
    int done = latest == null ? 0 : Integer.parseInt(latest.getFileName().toString().substring("checkpoint-".length()));
    System.out.println(afterASave + " of 20 tries were stopped after saving a checkpoint; newest: " + latest);
    ScoreCommandTest.Run r = ScoreCommandTest.run(trainArgs(out, done + 1).toArray(String[]::new));
    assertEquals(0, r.rc(), r.err());
    if (latest != null) {
      assertTrue(r.out().contains("resuming from " + latest), r.out());
    }
    assertTrue(RunWriter.isComplete(out.resolve("checkpoint-" + (done + 1))), r.out());
    try (Stream<Path> files = Files.list(out)) {
      assertFalse(files.anyMatch(f -> f.getFileName().toString().startsWith(".tmp-")), "no temporary folder left");
    }
  }

  /**
   * The hang itself: a JVM stopped while libtorch sits in OpenBLAS's threaded sgemm. As a library (no stop handlers,
   * empty environment) TorchRuntime's in-process OPENBLAS_NUM_THREADS=1 leaves OpenBLAS no threads to join at exit;
   * with the command line's handlers even a user's OPENBLAS_NUM_THREADS=2 cannot hang it.
   */
  @Test
  void aJvmStoppedInsideAThreadedMatrixProductEnds() throws Exception {
    long seed = System.nanoTime();
    System.out.println("StopSignalsTest matmul seed " + seed);
    Random rnd = new Random(seed);
    for (int i = 0; i < 8; i++) {
      boolean cli = i % 4 == 3;
      ProcessBuilder pb = plainJava(List.of(MatmulUntilStopped.class.getName(), "3072", cli ? "cli" : "embedded"));
      if (cli) {
        pb.environment().put("OPENBLAS_NUM_THREADS", "2");
      }
      Path log = dir.resolve("matmul-" + i + ".log");
      Process p = pb.redirectErrorStream(true).start();
      CompletableFuture<Void> ready = new CompletableFuture<>();
      Thread copy = new Thread(() -> {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(),
            StandardCharsets.UTF_8))) {
          for (String line; (line = in.readLine()) != null; ) {
            Files.writeString(log, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            if (line.equals("ready")) {
              ready.complete(null);
            }
          }
        } catch (IOException e) {
          ready.completeExceptionally(e);
        }
        ready.complete(null);
      });
      copy.setDaemon(true);
      copy.start();
      ready.get(120, TimeUnit.SECONDS);
      assertTrue(p.isAlive(), "matmul " + i + " is running");
      Thread.sleep(rnd.nextInt(1500));
      stopAndCheck(p, p.pid(), List.of(), Stop.TERM, "matmul " + i + (cli ? " (stop handlers, OPENBLAS_NUM_THREADS=2)"
          : " (embedded, empty environment)"), log);
    }
  }

  /** The data-parallel launcher: a signal to it, or to one worker, ends the launcher and every worker. */
  @Test
  void signalsToTheLauncherOrOneWorkerEndTheWholeJob() throws Exception {
    long seed = System.nanoTime();
    System.out.println("StopSignalsTest launcher seed " + seed);
    Random rnd = new Random(seed);
    Path out = dir.resolve("dp");
    for (boolean toWorker : new boolean[] {false, true}) {
      int port;
      try (ServerSocket free = new ServerSocket(0)) {
        port = free.getLocalPort();
      }
      List<String> args = new ArrayList<>(List.of(Main.class.getName()));
      args.addAll(trainArgs(out, 1000));
      args.addAll(List.of("--nproc_per_node", "2", "--master_port", String.valueOf(port)));
      Path log = dir.resolve("launcher-" + toWorker + ".log");
      Process p = plainJava(args).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (p.children().count() < 2) {
        assertTrue(p.isAlive() && System.nanoTime() < deadline, "the launcher started 2 workers\n"
            + Files.readString(log));
        Thread.sleep(50);
      }
      Thread.sleep(1000 + rnd.nextInt(6000));
      List<ProcessHandle> all = p.descendants().toList();
      long target = toWorker ? all.get(rnd.nextInt(all.size())).pid() : p.pid();
      stopAndCheck(p, target, all, Stop.TERM, toWorker ? "one worker of the launcher" : "the launcher", log);
    }
  }
}
