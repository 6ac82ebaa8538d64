// ProcessExit: a data-parallel worker's end skips exit()'s teardown (no shutdown hook runs) but keeps its exit code
// and everything it printed; without skipTeardown it is System.exit. Old code had no such path (System.exit always).
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ProcessExitTest {

  /** Prints, registers a shutdown hook, then ends through ProcessExit with args[0] as skipTeardown. */
  public static final class Child {
    public static void main(String[] args) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("shutdown hook ran")));
      System.out.print("printed before the end, no newline");
      System.err.print("and on stderr");
      ProcessExit.exit(7, Boolean.parseBoolean(args[0]));
    }
  }

  static String[] run(boolean skip) throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    Process p = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
        "-Dvlmr1.expectNative=" + System.getProperty("vlmr1.expectNative", "false"), Child.class.getName(),
        String.valueOf(skip))).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    return new String[] {String.valueOf(p.exitValue()), out, err};
  }

  @Test
  void aWorkerEndsWithItsCodeAndOutputButWithoutTeardown() throws Exception {
    String[] r = run(true);
    assertEquals("7", r[0], r[2]);
    assertTrue(r[1].startsWith("printed before the end, no newline"), r[1]);
    assertTrue(r[2].contains("and on stderr"), r[2]);
    if (GrpoKernels.backend() == KernelBackend.NATIVE) {
      assertFalse(r[1].contains("shutdown hook ran"), "_exit skips the JVM's and the C library's teardown: " + r[1]);
    }
  }

  @Test
  void otherwiseSystemExit() throws Exception {
    String[] r = run(false);
    assertEquals("7", r[0], r[2]);
    assertTrue(r[1].contains("shutdown hook ran"), r[1]);
  }
}
