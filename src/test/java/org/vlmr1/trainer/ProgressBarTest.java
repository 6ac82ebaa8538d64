// The training progress line: bar, counts, ETA from this process's steps, metrics; in place on a terminal, one line per
// logging step otherwise.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProgressBarTest {
  static StepMetrics step(int s) {
    return new StepMetrics(s, 0.25, 0.5, 0.1, Map.of(), 0.002, 1.0, 0.0, 12.0, 0.3, 1e-5, false, Map.of(), 100);
  }

  @Test
  void rendersBarCountsAndMetrics() {
    ProgressBar bar = new ProgressBar(new PrintStream(new ByteArrayOutputStream()), 8, false);
    bar.update(step(1), 1.0, true);
    String l = bar.line(step(2), 1.5);
    assertTrue(l.startsWith("[######") && l.contains("] 2/8  25%"), l);
    assertTrue(l.contains("1.5s/step") && l.contains("ETA ") && l.contains("reward 0.5000") && l.contains("kl 0.0020"),
        l);
    assertEquals("1:01:01", ProgressBar.clock(3661));
    assertEquals("2:05", ProgressBar.clock(125));
  }

  @Test
  void redirectedOutputGetsLinesOnlyAtLoggingSteps() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), 3, false);
    bar.update(step(1), 1, false);
    bar.update(step(2), 1, true);
    bar.update(step(3), 1, false); // the last step always shows
    assertEquals(2, buf.toString(StandardCharsets.UTF_8).lines().count());
    ByteArrayOutputStream tty = new ByteArrayOutputStream();
    ProgressBar live = new ProgressBar(new PrintStream(tty, true, StandardCharsets.UTF_8), 3, true);
    live.update(step(1), 1, false);
    live.breakLine();
    live.update(step(2), 1, false);
    String t = tty.toString(StandardCharsets.UTF_8);
    assertTrue(t.startsWith("\r[") && t.contains("\n\r[") && t.contains("2/3"), t);
  }
}
