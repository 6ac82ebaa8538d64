// How bin/vlmr1's entry point ends: a data-parallel worker (WORLD_SIZE > 1 and RANK set) ends through _exit once its
// command returned, keeping its exit code and everything it printed but running no shutdown hook (exit()'s teardown
// is what it skips); any other process ends through System.exit. Old code: System.exit for every process, so the
// worker case below ran the hook.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.vlmr1.util.NativeProcess;

class WorkerExitTest {

  /** Registers a shutdown hook, then runs Main with the given arguments. */
  static final class Child {
    public static void main(String[] args) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("shutdown hook ran")));
      Main.main(args);
    }
  }

  static String[] run(Map<String, String> env, String... args) throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Child.class.getName());
    pb.command().addAll(List.of(args));
    pb.environment().remove("WORLD_SIZE");
    pb.environment().remove("RANK");
    pb.environment().putAll(env);
    Process p = pb.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new String[] {String.valueOf(p.exitValue()),
        new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
        new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)};
  }

  @Test
  void aWorkerEndsWithItsCodeAndOutputButWithoutTeardown() throws Exception {
    assumeTrue(NativeProcess.unavailable() == null, NativeProcess.unavailable());
    Map<String, String> worker = Map.of("RANK", "1", "WORLD_SIZE", "2");
    String[] ok = run(worker, "--version");
    assertEquals("0", ok[0], ok[2]);
    assertTrue(ok[1].startsWith("vlmr1 "), ok[1]);
    assertFalse(ok[1].contains("shutdown hook ran"), "a worker skips exit()'s teardown: " + ok[1]);
    String[] bad = run(worker, "no-such-command");
    assertEquals("2", bad[0], "a usage error's code");
    assertTrue(bad[2].contains("unknown command 'no-such-command'"), "stderr flushed: " + bad[2]);
  }

  @Test
  void otherProcessesEndThroughSystemExit() throws Exception {
    String[] single = run(Map.of(), "--version");
    assertEquals("0", single[0], single[2]);
    assertTrue(single[1].contains("shutdown hook ran"), single[1]);
    String[] one = run(Map.of("RANK", "0", "WORLD_SIZE", "1"), "--version");
    assertTrue(one[1].contains("shutdown hook ran"), "a world of one is no worker: " + one[1]);
  }
}
