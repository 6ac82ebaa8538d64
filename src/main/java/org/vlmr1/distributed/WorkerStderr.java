// A worker's stderr passed through to the launcher's as it comes, byte for byte, with its last few KiB kept: when a
// worker dies (an abort in native code, an uncaught error), the launcher's report repeats what that worker said last,
// so a failure read from a log that interleaves several workers (or from a test report) names its cause.
package org.vlmr1.distributed;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Copies one worker's stderr to the launcher's and keeps its tail. */
final class WorkerStderr implements Runnable {
  /** How much of the end of a worker's stderr a failure report repeats. */
  static final int TAIL_BYTES = 4096;
  private final InputStream in;
  private final PrintStream out;
  private final byte[] ring = new byte[TAIL_BYTES];
  private long written;
  private final Thread thread;

  private WorkerStderr(InputStream in, PrintStream out, int rank) {
    this.in = in;
    this.out = out;
    this.thread = new Thread(this, "vlmr1-worker-" + rank + "-stderr");
    thread.setDaemon(true);
  }

  /** Starts copying {@code in} (a worker's stderr) to {@code out}. */
  static WorkerStderr start(InputStream in, PrintStream out, int rank) {
    WorkerStderr w = new WorkerStderr(in, out, rank);
    w.thread.start();
    return w;
  }

  @Override
  public void run() {
    byte[] buf = new byte[8192];
    try (InputStream s = in) {
      int n;
      while ((n = s.read(buf)) > 0) {
        synchronized (out) {
          out.write(buf, 0, n);
          out.flush();
        }
        keep(buf, n);
      }
    } catch (IOException e) {
      // the worker is gone; what it wrote so far is kept
    }
  }

  private synchronized void keep(byte[] buf, int n) {
    for (int i = Math.max(0, n - ring.length); i < n; i++) {
      ring[(int) (written++ % ring.length)] = buf[i];
    }
  }

  /** The last {@link #TAIL_BYTES} bytes the worker wrote, after waiting up to {@code waitMillis} for its end. */
  String tail(long waitMillis) {
    try {
      thread.join(waitMillis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      int n = (int) Math.min(written, ring.length);
      byte[] b = new byte[n];
      for (int i = 0; i < n; i++) {
        b[i] = ring[(int) ((written - n + i) % ring.length)];
      }
      return new String(b, StandardCharsets.UTF_8);
    }
  }

  /** "SIGABRT" for exit code 134 and the other common fatal signals; "" for a code that is no signal. */
  static String signalName(int exitCode) {
    return switch (exitCode - 128) {
      case 1 -> "SIGHUP";
      case 2 -> "SIGINT";
      case 4 -> "SIGILL";
      case 6 -> "SIGABRT";
      case 7 -> "SIGBUS";
      case 8 -> "SIGFPE";
      case 9 -> "SIGKILL";
      case 11 -> "SIGSEGV";
      case 13 -> "SIGPIPE";
      case 15 -> "SIGTERM";
      default -> exitCode > 128 && exitCode < 160 ? "signal " + (exitCode - 128) : "";
    };
  }
}
