// The Java side of the CUDA twins without a GPU. CudaEmulationTest runs the twins' source on the CPU through the GPU
// harness's ctypes bindings; this runs it through what the JVM calls on a GPU machine: CudaNative's JavaCPP glue,
// generated and compiled here by JavaCPP's Builder for the -gpu extension (as `mvn -Pgpu` does) but linked with the
// emulated kernels (src/test/cuda/emu/build.sh --archives) instead of nvcc's, then loaded by KernelProviders' CUDA
// choice in a JVM whose JavaCPP platform extension is -gpu. Two programs run there: EmulatedCudaKernels (every
// provider call against the CPU's kernels, errors included) and trainer.EmulatedCudaTraining (two GRPO steps on the
// twins against the same steps on the CPU's kernels). Skipped without g++. What it cannot show: the CUDA runtime's
// stream and allocator, device memory, speed.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CudaProviderEmulationTest {
  @TempDir
  static Path dir;

  /** A class-path root holding org/vlmr1/kernels/PLATFORM-gpu/libjniCudaNative.so, the glue on the emulation. */
  private static Path natives;

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  @BeforeAll
  static void build() throws Exception {
    assumeTrue(CudaSourcesCompileTest.run(Path.of("."), Map.of(), 30, "g++", "--version").exitCode() == 0,
        "no g++ on this machine");
    Path archives = dir.resolve("lib");
    CudaSourcesCompileTest.Run built = CudaSourcesCompileTest.run(Path.of("."), Map.of(), 300, "bash",
        "src/test/cuda/emu/build.sh", "--archives", archives.toString());
    assertEquals(0, built.exitCode(), "the CUDA sources did not build against the emulation shim:\n" + built.output());
    natives = dir.resolve("classes");
    Path out = natives.resolve(Path.of("org", "vlmr1", "kernels", Loader.getPlatform() + "-gpu"));
    Path cuda = Path.of("src", "main", "native", "cuda").toAbsolutePath();
    Path emu = Path.of("src", "test", "cuda", "emu").toAbsolutePath();
    // The -gpu @Platform of CudaNative: its header, and links vlmr1kernels_cuda (here the emulated kernels with the
    // shim) and cudart (here an empty archive: the shim is the runtime).
    CudaSourcesCompileTest.Run glue = CudaSourcesCompileTest.run(Path.of("."), Map.of(), 300, java(), "-cp",
        System.getProperty("java.class.path"), "org.bytedeco.javacpp.tools.Builder", "-d", out.toString(),
        "-properties", Loader.getPlatform(), "-Dplatform.extension=-gpu",
        "-Dplatform.includepath=" + cuda + File.pathSeparator + emu, "-Dplatform.linkpath=" + archives,
        CudaNative.class.getName());
    Path lib = out.resolve(System.mapLibraryName("jniCudaNative"));
    assertTrue(glue.exitCode() == 0 && Files.isRegularFile(lib), "JavaCPP's Builder did not build " + lib + ":\n"
        + glue.output());
  }

  /** Runs {@code main} in a JVM with the -gpu extension and the emulated glue first on the class path. */
  private static String fork(String main, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx2g", "-Dorg.bytedeco.javacpp.platform.extension=-gpu",
        "-cp", natives + File.pathSeparator + System.getProperty("java.class.path"), main));
    cmd.addAll(List.of(args));
    CudaSourcesCompileTest.Run r = CudaSourcesCompileTest.run(Path.of("."), Map.of(), 600, cmd.toArray(String[]::new));
    System.out.println(r.output());
    assertEquals(0, r.exitCode(), main + " failed:\n" + r.output());
    return r.output();
  }

  @Test
  void providerCallsMatchTheCpuKernels() throws Exception {
    long seed = TensorAssert.seed("CudaProviderEmulationTest kernels");
    String out = fork(EmulatedCudaKernels.class.getName(), Long.toString(seed));
    assertTrue(out.contains("checks passed") && out.contains("CPU emulation"), out);
  }

  @Test
  void trainerStepsOnTheTwinsMatchTheCpuKernels(@TempDir Path scratch) throws Exception {
    long seed = TensorAssert.seed("CudaProviderEmulationTest training");
    String out = fork("org.vlmr1.trainer.EmulatedCudaTraining", Long.toString(seed), scratch.toString());
    assertTrue(out.contains("2 steps match"), out);
  }
}
