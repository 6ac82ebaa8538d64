// bin/vlmr1 doctor's self-check: every kernel family is compared with its reference when native, and with the
// composite backend forced the check says it was skipped instead of claiming "ok" for a composite-vs-composite run.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.vlmr1.kernels.GrpoKernels;
import org.vlmr1.kernels.ImageKernels;
import org.vlmr1.kernels.KernelBackend;

class DoctorCommandTest {
  @Test
  void checksTheImageKernelsToo() {
    Assumptions.assumeTrue(GrpoKernels.backend() == KernelBackend.NATIVE
        && ImageKernels.backend() == KernelBackend.NATIVE, "needs the native kernels (built by cppbuild.sh)");
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int rc;
    try {
      System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
      rc = MainAccess.run("doctor");
    } finally {
      System.setOut(old);
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    System.out.println(out);
    assertEquals(0, rc, out);
    for (String what : List.of("grpoLoss vs composite", "Qwen image patches vs Java reference",
        "InternVL tiles vs Java reference")) {
      Pattern line = Pattern.compile("self-check +" + Pattern.quote(what) + ": max \\|diff\\| \\S+, ok");
      assertTrue(line.matcher(out).find(), what + " checked: " + out);
    }
  }

  /**
   * Issue 17: doctor says what it found of CUDA. Here (the CPU natives of the pytorch preset, no -gpu natives, no
   * driver) that is none of it, and no CUDA self-check runs. The old doctor printed no CUDA line at all.
   */
  @Test
  void saysThereIsNoCudaHere() {
    Assumptions.assumeFalse(org.vlmr1.kernels.KernelProviders.cudaKernelsLoaded(), "this classpath has -gpu natives");
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int rc;
    try {
      System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
      rc = MainAccess.run("doctor");
    } finally {
      System.setOut(old);
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    System.out.println(out);
    assertEquals(0, rc, out);
    for (String line : List.of("cuda          none: this libtorch build has no CUDA (CPU natives of the pytorch "
        + "preset)", "cuda devices  no CUDA device", "cudnn         not available",
        "-gpu natives  not loaded (no -gpu natives: tensors on CUDA would run the libtorch composites)",
        "libjniCudaNative (not loaded)")) {
      assertTrue(out.lines().anyMatch(line::equals), "'" + line + "' in: " + out);
    }
    assertTrue(out.lines().anyMatch(l -> l.startsWith("nvidia driver ")), out);
    assertTrue(out.lines().anyMatch(l -> l.startsWith("cuda kernels  tensors on CUDA run the libtorch composites "
        + "on their device (")), out);
    assertFalse(out.contains("on cuda:0"), "no CUDA self-check without a device: " + out);
  }

  /**
   * The CPU flavour (no -gpu natives on the class path) is the normal state of a machine without a GPU: doctor says
   * so in its one line and nothing reaches stderr. The old doctor logged an INFO line to stderr and named the state by
   * JavaCPP's "UnsatisfiedLinkError: Could not find jniCudaNative", which read as a failure.
   */
  @Test
  void theCpuFlavourIsNotALinkError() throws Exception {
    Assumptions.assumeFalse(org.vlmr1.kernels.KernelProviders.cudaKernelsLoaded(), "this classpath has -gpu natives");
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), "org.vlmr1.cli.Main", "doctor");
    java.io.File err = java.io.File.createTempFile("doctor", ".err");
    err.deleteOnExit();
    Process p = new ProcessBuilder(cmd).redirectError(err).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "doctor finished");
    String stderr = java.nio.file.Files.readString(err.toPath());
    System.out.println(out + stderr);
    assertEquals(0, p.exitValue(), out + stderr);
    assertTrue(out.lines().anyMatch(("cuda kernels  tensors on CUDA run the libtorch composites on their device (this "
        + "build has no -gpu natives: the CPU flavour)")::equals), out);
    assertFalse(out.contains("UnsatisfiedLinkError"), out);
    assertFalse(stderr.contains("CUDA"), "nothing about CUDA on stderr: " + stderr);
  }

  @Test
  void forcedCompositeSaysSkipped() throws Exception {
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Dvlmr1.kernels=composite", "-cp", System.getProperty("java.class.path"), "org.vlmr1.cli.Main", "doctor");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "doctor finished");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    System.out.println(out);
    assertEquals(0, p.exitValue(), out);
    assertEquals(3, out.split("skipped \\(composite vs itself\\)", -1).length - 1, "three checks skipped: " + out);
    assertFalse(out.contains(", ok"), out);
  }
}
