// SIGTERM and SIGINT for the command line (timeout, Slurm, Kubernetes, Ctrl-C): end within seconds with the shell's
// codes (143, 130), without waiting for the running step. The JVM's own handling runs the shutdown hooks and then C's
// exit(), whose handlers include OpenBLAS's thread shutdown: when the signal lands inside a multi-threaded BLAS call
// that handler can wait forever (pthread_join on a worker that went back to sleep). So the handler here runs the
// registered stop actions (the launcher forwarding the signal to its workers) and then ends the process with _exit.
// Nothing partial is lost: checkpoints become visible only by an atomic rename, and the next start deletes the
// temporary folders an interrupted save leaves (RunWriter).
package org.vlmr1.util;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import sun.misc.Signal;

/** Installs the stop handlers of a vlmr1 process; library code only registers actions. */
public final class StopSignals {
  /** The signals handled, with the exit code a shell reports for them (128 + the signal number). */
  public enum Stop {
    TERM(143), INT(130);

    private final int exitCode;

    Stop(int exitCode) {
      this.exitCode = exitCode;
    }

    public int exitCode() {
      return exitCode;
    }
  }

  /** A registered stop action; closing it unregisters the action. */
  public interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  private static final List<Runnable> ACTIONS = new CopyOnWriteArrayList<>();
  private static final AtomicBoolean STOPPING = new AtomicBoolean();
  private static boolean installed;

  private StopSignals() {}

  /**
   * Handles SIGTERM and SIGINT in this process from now on (idempotent). Only a program's entry point calls this:
   * a program that embeds vlmr1 keeps its own signal handling.
   */
  public static synchronized void install() {
    if (installed) {
      return;
    }
    String unavailable = NativeProcess.unavailable(); // loads libc now, not in the handler
    if (unavailable != null) {
      System.err.println("vlmr1: " + unavailable + "; a stop signal will end the process with Runtime.halt");
    }
    for (Stop s : Stop.values()) {
      Signal.handle(new Signal(s.name()), sig -> stop(s));
    }
    installed = true;
  }

  /**
   * Runs {@code action} when a stop signal arrives, before the process ends; it must return within a few seconds.
   *
   * @return closes to unregister
   */
  public static Registration onStop(Runnable action) {
    ACTIONS.add(action);
    return () -> ACTIONS.remove(action);
  }

  /** Whether a stop signal arrived: the handler is ending the process, callers should not exit on their own. */
  public static boolean stopping() {
    return STOPPING.get();
  }

  private static void stop(Stop s) {
    if (!STOPPING.compareAndSet(false, true)) {
      NativeProcess.exitNow(s.exitCode()); // a second signal: no more waiting
      return;
    }
    System.err.println(System.lineSeparator() + "vlmr1: stopped by SIG" + s.name() + " (exit " + s.exitCode() + ")");
    for (Runnable a : ACTIONS) {
      try {
        a.run();
      } catch (RuntimeException | Error e) {
        System.err.println("vlmr1: while stopping: " + e);
      }
    }
    NativeProcess.exitNow(s.exitCode());
  }
}
