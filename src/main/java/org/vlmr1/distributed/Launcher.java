// torchrun's job for `bin/vlmr1 train --nproc_per_node N`: starts N worker JVMs on this node with RANK, LOCAL_RANK,
// WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, waits for them, and when one fails gives the others
// the collective timeout to fail on their own (they name the rank and the timeout), then stops any left and returns a
// non-zero exit code. A worker ended by a signal (exit > 128: SIGTERM, SIGINT, SIGKILL) and a stop signal to the
// launcher itself end the whole job at once instead: the launcher sends SIGTERM to the workers, waits STOP_GRACE for
// them, then kills what is left, and exits with the signal's code. The last complete checkpoint stays usable for
// resume. Each worker's stderr passes through the launcher (WorkerStderr), so a worker that fails is reported with its
// exit code, the signal that ended it, and the last lines it wrote.
package org.vlmr1.distributed;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.util.StopSignals;

/** Starts and supervises this node's workers. */
public final class Launcher {
  /** How long the workers get to end after SIGTERM before they are killed (well within a scheduler's 10 s). */
  static final Duration STOP_GRACE = Duration.ofSeconds(7);

  private Launcher() {}

  /**
   * The node's share of a run.
   *
   * @param nprocPerNode workers on this node
   * @param nnodes nodes in the run; nodeRank this node's index
   * @param timeout the collective timeout the workers use (the grace period after a failure)
   */
  public record Spec(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort,
      Duration timeout) {
    public Spec {
      if (nprocPerNode < 1 || nnodes < 1 || nodeRank < 0 || nodeRank >= nnodes) {
        throw new IllegalArgumentException("--nproc_per_node " + nprocPerNode + ", --nnodes " + nnodes
            + ", --node_rank " + nodeRank + ": need nproc >= 1 and 0 <= node_rank < nnodes");
      }
    }

    public int worldSize() {
      return nprocPerNode * nnodes;
    }
  }

  /**
   * Runs {@code mainClass args} in one JVM per local rank (same java, JVM flags and class path as this one).
   *
   * @return 0 when every worker succeeded, else the first failing worker's exit code
   */
  public static int launch(Spec spec, String mainClass, List<String> args) throws IOException, InterruptedException {
    List<Process> workers = new CopyOnWriteArrayList<>();
    List<WorkerStderr> stderr = new ArrayList<>();
    Thread reaper = new Thread(() -> stop(workers));
    Runtime.getRuntime().addShutdownHook(reaper);
    try (StopSignals.Registration forward = StopSignals.onStop(() -> stop(workers))) {
      for (int local = 0; local < spec.nprocPerNode(); local++) {
        int rank = spec.nodeRank() * spec.nprocPerNode() + local;
        ProcessBuilder pb = new ProcessBuilder(command(mainClass, args)).redirectInput(ProcessBuilder.Redirect.INHERIT)
            .redirectOutput(ProcessBuilder.Redirect.INHERIT);
        Map<String, String> env = pb.environment();
        env.put("RANK", String.valueOf(rank));
        env.put("LOCAL_RANK", String.valueOf(local));
        env.put("WORLD_SIZE", String.valueOf(spec.worldSize()));
        env.put("LOCAL_WORLD_SIZE", String.valueOf(spec.nprocPerNode()));
        env.put("MASTER_ADDR", spec.masterAddr());
        env.put("MASTER_PORT", String.valueOf(spec.masterPort()));
        TorchRuntime.applyThreadEnv(env);
        if (!env.containsKey("OMP_NUM_THREADS")) {
          // As torchrun does: N workers share the node's cores instead of each starting one thread per core.
          env.put("OMP_NUM_THREADS", String.valueOf(threadsPerWorker(spec.nprocPerNode())));
        }
        Process p = pb.start();
        workers.add(p);
        stderr.add(WorkerStderr.start(p.getErrorStream(), System.err, rank));
      }
      System.err.printf("launcher: %d worker(s) on node %d of %d, world size %d, rendezvous %s:%d, "
          + "OMP_NUM_THREADS %s%n", spec.nprocPerNode(), spec.nodeRank(), spec.nnodes(), spec.worldSize(),
          spec.masterAddr(), spec.masterPort(), System.getenv().getOrDefault("OMP_NUM_THREADS",
              String.valueOf(threadsPerWorker(spec.nprocPerNode()))));
      return supervise(workers, stderr, spec);
    } finally {
      workers.forEach(Process::destroyForcibly);
      try {
        Runtime.getRuntime().removeShutdownHook(reaper);
      } catch (IllegalStateException e) {
        // already shutting down
      }
    }
  }

  /** SIGTERM to every worker still running, up to {@link #STOP_GRACE} for them to end, then SIGKILL. */
  static void stop(List<Process> workers) {
    workers.forEach(Process::destroy);
    long deadline = System.nanoTime() + STOP_GRACE.toNanos();
    for (Process p : workers) {
      try {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !p.waitFor(left, TimeUnit.NANOSECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    workers.forEach(Process::destroyForcibly);
  }

  /** This node's cores split among its workers (at least one each). */
  public static int threadsPerWorker(int nproc) {
    return Math.max(1, Runtime.getRuntime().availableProcessors() / nproc);
  }

  static int supervise(List<Process> workers, List<WorkerStderr> stderr, Spec spec) throws InterruptedException {
    int code = 0;
    long deadline = Long.MAX_VALUE;
    while (true) {
      if (StopSignals.stopping()) {
        Thread.sleep(100); // the stop handler forwards the signal and ends this process with its exit code
        continue;
      }
      boolean alive = false;
      for (int i = 0; i < workers.size(); i++) {
        Process p = workers.get(i);
        int rank = spec.nodeRank() * spec.nprocPerNode() + i;
        if (p.isAlive()) {
          alive = true;
        } else if (p.exitValue() > 128 && code <= 128) {
          // Stopped by a signal (a scheduler, Ctrl-C, the OOM killer): the job is being stopped, not failing. Also
          // when another worker already failed: its peers notice a dead worker's closed sockets and fail at once (an
          // exit that skips exit()'s teardown can come before the signalled worker's own end), but the job's cause
          // and exit code are the signal's.
          code = p.exitValue();
          String signal = WorkerStderr.signalName(code);
          System.err.printf("launcher: worker rank %d ended by %s (exit %d); stopping the others%n%s", rank,
              signal.isEmpty() ? "a signal" : signal, code, lastWords(stderr.get(i), rank) + crashLog(p));
          stop(workers);
          return code;
        } else if (p.exitValue() != 0 && code == 0) {
          code = p.exitValue();
          System.err.printf("launcher: worker rank %d exited with code %d; the others get %d s to stop%n%s", rank,
              code, spec.timeout().toSeconds() + 30, lastWords(stderr.get(i), rank) + crashLog(p));
          deadline = System.nanoTime() + spec.timeout().plusSeconds(30).toNanos();
        }
      }
      if (!alive) {
        return code;
      }
      if (System.nanoTime() > deadline) {
        System.err.println("launcher: stopping the workers still running after the timeout");
        workers.forEach(Process::destroyForcibly);
        return code;
      }
      Thread.sleep(100);
    }
  }

  /** The end of a failed worker's stderr, framed, for the launcher's report. */
  private static String lastWords(WorkerStderr err, int rank) {
    String tail = err.tail(2000).strip();
    if (tail.isEmpty()) {
      return "launcher: worker rank " + rank + " wrote nothing to stderr\n";
    }
    return "launcher: the last " + WorkerStderr.TAIL_BYTES + " bytes or fewer of worker rank " + rank
        + "'s stderr:\n" + tail.indent(2);
  }

  /**
   * The head of the JVM's crash log for a worker that crashed (a fatal signal in native code: the JVM writes
   * hs_err_pid&lt;pid&gt;.log in its working directory and aborts, exit 134), or "" when there is none.
   */
  static String crashLog(Process p) {
    Path log = Path.of(System.getProperty("user.dir"), "hs_err_pid" + p.pid() + ".log");
    if (!Files.isRegularFile(log)) {
      return "";
    }
    try (java.util.stream.Stream<String> lines = Files.lines(log, java.nio.charset.StandardCharsets.ISO_8859_1)) {
      return "launcher: the JVM crash log " + log + " begins:\n"
          + String.join("\n", lines.limit(40).toList()).indent(2);
    } catch (IOException | java.io.UncheckedIOException e) {
      return "launcher: the JVM crash log " + log + " is there but unreadable: " + e.getMessage() + "\n";
    }
  }

  private static List<String> command(String mainClass, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    cmd.addAll(args);
    return cmd;
  }
}
