// A worker that dies is reported with the signal that ended it and the last lines it wrote to stderr (old code: only
// "ended by a signal (exit 134)", the worker's own words lost among the others' output), and a data-parallel worker
// ends through _exit with its exit code and its output flushed.
package org.vlmr1.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LauncherReportTest {

  /** The launcher's supervision of shell "workers" (one command each): its exit code and what it wrote to stderr. */
  static Object[] supervise(String[]... cmds) throws Exception {
    List<Process> workers = new ArrayList<>();
    List<WorkerStderr> stderr = new ArrayList<>();
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    PrintStream err = System.err;
    System.setErr(new PrintStream(seen, true, StandardCharsets.UTF_8));
    try {
      for (int r = 0; r < cmds.length; r++) {
        Process p = new ProcessBuilder(cmds[r]).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        workers.add(p);
        stderr.add(WorkerStderr.start(p.getErrorStream(), System.err, r));
      }
      int code = Launcher.supervise(workers, stderr,
          new Launcher.Spec(cmds.length, 1, 0, "127.0.0.1", 29500, Duration.ofSeconds(5)));
      boolean othersStopped = true;
      for (Process p : workers) {
        othersStopped &= p.waitFor(10, TimeUnit.SECONDS);
      }
      return new Object[] {code, seen.toString(StandardCharsets.UTF_8), othersStopped};
    } finally {
      System.setErr(err);
      workers.forEach(Process::destroyForcibly);
    }
  }

  @Test
  void aWorkerEndedBySigabrtIsReportedWithItsLastWords() throws Exception {
    Object[] r = supervise(new String[] {"sh", "-c", "sleep 30"},
        new String[] {"sh", "-c", "i=0; while [ $i -lt 300 ]; do echo filler line $i >&2; i=$((i+1)); done; "
            + "echo 'free(): corrupted unsorted chunks' >&2; kill -ABRT $$"});
    String out = (String) r[1];
    System.out.println(out.substring(out.indexOf("launcher:")));
    assertEquals(134, r[0]);
    assertTrue(out.contains("launcher: worker rank 1 ended by SIGABRT (exit 134)"), out);
    String report = out.substring(out.indexOf("launcher: worker rank 1"));
    assertTrue(report.contains("  free(): corrupted unsorted chunks"), "the last words, indented: " + report);
    assertTrue(report.contains("filler line 299") && !report.contains("filler line 10\n"), "only the tail: " + report);
    assertTrue((Boolean) r[2], "the other worker was stopped");
  }

  /**
   * A worker ended by a signal after its peer already failed because of it (the peer saw its sockets close first): the
   * job's exit code is the signal's (old code: the peer's 1, as in a CI run of StopSignalsTest).
   */
  @Test
  void aSignalAfterAPeersFailureIsTheJobsExitCode() throws Exception {
    Object[] r = supervise(new String[] {"sh", "-c", "echo 'Connection reset by peer' >&2; exit 1"},
        new String[] {"sh", "-c", "sleep 0.5; kill -TERM $$"});
    assertEquals(143, r[0], (String) r[1]);
  }

  @Test
  void signalNames() {
    assertEquals("SIGABRT", WorkerStderr.signalName(134));
    assertEquals("SIGKILL", WorkerStderr.signalName(137));
    assertEquals("SIGSEGV", WorkerStderr.signalName(139));
    assertEquals("signal 10", WorkerStderr.signalName(138));
    assertEquals("", WorkerStderr.signalName(1));
  }
}
