// The terminal progress of a training run: a bar with step, percentage, time per step, ETA, reward and KL. On a
// terminal it redraws one line in place; redirected to a file it prints one line per logged step instead.
package org.vlmr1.trainer;

import java.io.PrintStream;
import java.util.Locale;

/** Draws training progress. Not thread-safe; one per run. */
public final class ProgressBar {
  private static final int WIDTH = 24;
  private final PrintStream out;
  private final int total;
  private final boolean inPlace;
  private final long start = System.nanoTime();
  private int firstStep = -1;
  private boolean pending; // an in-place line without its line break

  /**
   * @param total the last step
   * @param inPlace redraw one line with carriage returns (a terminal), else print whole lines
   */
  public ProgressBar(PrintStream out, int total, boolean inPlace) {
    if (total < 1) {
      throw new IllegalArgumentException("a progress bar needs at least one step");
    }
    this.out = out;
    this.total = total;
    this.inPlace = inPlace;
  }

  /** For the standard output: in place when it is an interactive terminal. */
  public static ProgressBar forStdout(int total) {
    return new ProgressBar(System.out, total, System.console() != null);
  }

  /**
   * Shows a finished step.
   *
   * @param log whether this is a logging step (always shown when not drawing in place)
   */
  public void update(StepMetrics m, double stepSeconds, boolean log) {
    if (firstStep < 0) {
      firstStep = m.step() - 1; // a resumed run's ETA counts only the steps this process ran
    }
    if (!inPlace && !log && m.step() != total) {
      return;
    }
    String line = line(m, stepSeconds);
    if (inPlace) {
      out.print("\r" + line + (m.step() == total ? System.lineSeparator() : ""));
      out.flush();
      pending = m.step() != total;
    } else {
      out.println(line);
    }
  }

  /** Ends an in-place line, so another message can be printed below it. */
  public void breakLine() {
    if (pending) {
      out.println();
      pending = false;
    }
  }

  /** The rendered line (without a line break). */
  String line(StepMetrics m, double stepSeconds) {
    int done = Math.min(m.step(), total);
    int filled = (int) Math.round((double) WIDTH * done / total);
    double elapsed = (System.nanoTime() - start) / 1e9;
    int ran = Math.max(1, done - firstStep);
    double eta = elapsed / ran * (total - done);
    return String.format(Locale.ROOT, "[%s%s] %d/%d %3d%%  %.1fs/step  ETA %s  reward %.4f  kl %.4f  loss %.4f  len "
        + "%.1f%s", "#".repeat(filled), ".".repeat(WIDTH - filled), done, total, 100 * done / total, stepSeconds,
        clock(eta), m.reward(), m.kl(), m.loss(), m.completionLength(), m.skipped() ? "  (skipped)" : "");
  }

  /** h:mm:ss or m:ss. */
  static String clock(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }
}
