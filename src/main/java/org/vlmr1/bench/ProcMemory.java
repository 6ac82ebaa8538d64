// Resident-memory probes from /proc (Linux): the benchmark's peak-memory measurement (CONVENTIONS.md "Benchmarks").
package org.vlmr1.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** VmRSS / VmHWM of this process, and the reset of VmHWM through /proc/self/clear_refs. */
final class ProcMemory {
  /** The highest VmHWM that {@link #stagePeak} reset away since the last {@link #resetPeak}. */
  private static long folded;

  private ProcMemory() {}

  static boolean available() {
    return Files.isReadable(Path.of("/proc/self/status")) && Files.isWritable(Path.of("/proc/self/clear_refs"));
  }

  static long rssBytes() {
    return statusKb("VmRSS:") * 1024;
  }

  /** The peak RSS since the last {@link #resetPeak} (stage resets included). */
  static synchronized long peakBytes() {
    return Math.max(folded, statusKb("VmHWM:") * 1024);
  }

  /** Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux >= 4.0). */
  static synchronized void resetPeak() {
    folded = 0;
    clearPeak();
  }

  /**
   * The peak RSS since the previous stage ended (or the last reset), and the start of the next stage's: VmHWM is reset,
   * while {@link #peakBytes} keeps the overall peak.
   */
  static synchronized long stagePeak() {
    long p = statusKb("VmHWM:") * 1024;
    folded = Math.max(folded, p);
    clearPeak();
    return p;
  }

  private static void clearPeak() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    } catch (IOException e) {
      throw new IllegalStateException("cannot reset the peak RSS through /proc/self/clear_refs: " + e, e);
    }
  }

  private static long statusKb(String key) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(key)) {
          return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /proc/self/status: " + e, e);
    }
    throw new IllegalStateException(key + " missing from /proc/self/status");
  }
}
