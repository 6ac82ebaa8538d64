// One run per output folder: a second lock on a held folder is refused naming the holder's pid, in this JVM and from
// another process, and a holder killed with SIGKILL leaves no stale lock.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunLockTest {

  @Test
  void aSecondLockInThisProcessIsRefusedUntilTheFirstIsClosed(@TempDir Path dir) throws Exception {
    Path run = dir.resolve("run");
    long me = ProcessHandle.current().pid();
    try (RunLock first = RunLock.acquire(run)) {
      assertEquals(me + "\n", Files.readString(run.resolve(RunLock.FILE)));
      RunLock.HeldException e = assertThrows(RunLock.HeldException.class,
          () -> RunLock.acquire(run.resolve("..").resolve("run")));
      assertTrue(e.getMessage().contains("pid " + me) && e.getMessage().contains("--output_dir"), e.getMessage());
      // The refused attempt must not have released the first lock (closing any channel on the file would).
      assertThrows(RunLock.HeldException.class, () -> RunLock.acquire(run));
    }
    try (RunLock again = RunLock.acquire(run)) {
      assertTrue(Files.isRegularFile(run.resolve(RunLock.FILE)));
    }
  }

  @Test
  void anotherProcessIsRefusedAndAKilledHolderLeavesNoStaleLock(@TempDir Path dir) throws Exception {
    Path run = dir.resolve("run");
    Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-cp",
        System.getProperty("java.class.path"), RunLockHolder.class.getName(), run.toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      assertEquals("locked " + p.pid(), line);
      RunLock.HeldException e = assertThrows(RunLock.HeldException.class, () -> RunLock.acquire(run));
      assertTrue(e.getMessage().contains("pid " + p.pid() + ";"), e.getMessage());
      p.destroyForcibly(); // SIGKILL: no shutdown hook, no close
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    } finally {
      p.destroyForcibly();
    }
    try (RunLock mine = RunLock.acquire(run)) {
      assertEquals(List.of(String.valueOf(ProcessHandle.current().pid())),
          Files.readAllLines(run.resolve(RunLock.FILE)));
    }
  }
}
