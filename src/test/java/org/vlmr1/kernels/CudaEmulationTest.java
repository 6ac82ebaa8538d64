// The CUDA twins' own source (src/main/native/cuda/*.cu) executed on the CPU: g++ compiles it against the emulation
// shim (src/test/cuda/emu: blocks as fibers, __syncthreads and warp shuffles as barriers) into a host library with
// the vlmr1_cuda_* ABI, and the GPU harness (src/test/cuda/check.py --emulated) runs its smoke, golden, contract and
// (scaled-down) large-shape checks through it, under two thread interleavings. Skipped without g++ or without
// /usr/bin/python3 with torch. What it cannot show: the GPU's memory model, warp scheduling, alignment faults, speed.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CudaEmulationTest {
  private static final Path PYTHON = Path.of("/usr/bin/python3");
  private static final Pattern SUMMARY = Pattern.compile("check: (\\d+) passed, (\\d+) failed");

  @TempDir
  static Path dir;

  private static Path lib;

  @BeforeAll
  static void build() throws Exception {
    assumeTrue(CudaSourcesCompileTest.run(Path.of("."), Map.of(), 30, "g++", "--version").exitCode() == 0,
        "no g++ on this machine");
    assumeTrue(Files.isExecutable(PYTHON)
        && CudaSourcesCompileTest.run(Path.of("."), Map.of(), 120, PYTHON.toString(), "-c", "import torch")
            .exitCode() == 0, "no /usr/bin/python3 with torch (apt-get install python3-torch)");
    lib = dir.resolve("libvlmr1cuda_emu.so");
    CudaSourcesCompileTest.Run r = CudaSourcesCompileTest.run(Path.of("."), Map.of(), 300, "bash",
        "src/test/cuda/emu/build.sh", lib.toString());
    assertEquals(0, r.exitCode(), "the CUDA sources did not build against the emulation shim:\n" + r.output());
  }

  /** check.py --emulated under the given fiber order; returns the number of checks that passed (all must). */
  private static int check(String order, String phases, String name) throws IOException, InterruptedException {
    Path out = dir.resolve(name);
    long seed = System.nanoTime() % 100_000;
    System.out.println("CudaEmulationTest " + name + ": order " + order + ", seed " + seed);
    CudaSourcesCompileTest.Run r = CudaSourcesCompileTest.run(Path.of("."),
        Map.of("VLMR1_EMU_ORDER", order, "VLMR1_EMU_SEED", Long.toString(seed), "PYTHONDONTWRITEBYTECODE", "1"), 300,
        PYTHON.toString(), "src/test/cuda/check.py", "--emulated", "--lib", lib.toString(), "--out", out.toString(),
        "--phases", phases, "--seed", Long.toString(seed));
    Matcher m = SUMMARY.matcher(r.output());
    String last = null;
    while (m.find()) {
      last = m.group();
    }
    assertEquals(0, r.exitCode(), "emulated check (" + order + ") failed: " + last + "\n" + failures(r.output()));
    assertTrue(last != null && last.endsWith(" 0 failed"), "no summary line:\n" + r.output());
    return Integer.parseInt(last.replaceAll("check: (\\d+) passed.*", "$1"));
  }

  private static String failures(String log) {
    StringBuilder sb = new StringBuilder();
    for (String line : log.split("\n")) {
      if (line.contains("FAIL") || line.contains("cuda-emu") || line.contains("Error")) {
        sb.append(line).append('\n');
      }
    }
    return sb.length() > 0 ? sb.toString() : log;
  }

  /** The emulator's own checks (selftest.cu), so a pass below means the kernels passed, not a blind emulator. */
  @Test
  void emulatorReducesShufflesAndCatchesBarrierBugs() throws Exception {
    Path bin = dir.resolve("selftest");
    CudaSourcesCompileTest.Run built = CudaSourcesCompileTest.run(Path.of("."), Map.of(), 300, "bash",
        "src/test/cuda/emu/build.sh", "--selftest", bin.toString());
    assertEquals(0, built.exitCode(), built.output());
    for (String order : new String[] {"forward", "reverse"}) {
      CudaSourcesCompileTest.Run r = CudaSourcesCompileTest.run(Path.of("."), Map.of("VLMR1_EMU_ORDER", order), 60,
          bin.toString());
      System.out.println(r.output());
      assertEquals(0, r.exitCode(), "emulator self-test (" + order + "):\n" + r.output());
      assertTrue(r.output().contains("PASS a full-mask shuffle half the warp skips is a reported launch failure"),
          r.output());
    }
  }

  @Test
  void goldensContractAndLargeShapesPassOnTheEmulatedKernels() throws Exception {
    // 7 smoke + 1 ABI + every golden and contract comparison + the large phase at B=2 T=4 V=151,936.
    int passed = check("forward", "smoke,goldens,large", "forward");
    assertTrue(passed > 250, passed + " checks ran; the golden and contract phases alone have more");
  }

  @Test
  void goldensPassWhenThreadsRunInReverseOrder() throws Exception {
    // Thread 255 first: a value thread 0 writes and the others read without a barrier between shows here.
    int passed = check("reverse", "goldens", "reverse");
    assertTrue(passed > 250, passed + " checks ran");
  }
}
