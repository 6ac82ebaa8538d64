// Doctor's CUDA line when libtorch has no CUDA. With the pytorch preset's -gpu jar on the class path and a system
// without cuBLAS, cuDNN, NCCL and the rest, JavaCPP loads libtorch_cpu from the -gpu folder and silently skips
// libtorch_cuda; the old doctor then said "this libtorch build has no CUDA (CPU natives of the pytorch preset)",
// which is false and names nothing to install. Here a libtorch_cuda.so stand-in built with g++ links a library that
// is then deleted, as a missing cuBLAS would be.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MissingLibrariesTest {
  @Test
  void readsLddsNotFoundLines() {
    String ldd = "\tlinux-vdso.so.1 (0x00007ffc)\n\tlibcublas.so.13 => not found\n"
        + "\tlibc10.so => /cache/linux-x86_64-gpu/libc10.so (0x00007f)\n\tlibcudnn.so.9 => not found\n"
        + "\tlibcublas.so.13 => not found\n";
    assertEquals(List.of("libcublas.so.13", "libcudnn.so.9"), MissingLibraries.notFound(ldd));
  }

  @Test
  void namesWhatTheGpuBuildsCudaPartLacks(@TempDir Path dir) throws Exception {
    assumeTrue(CudaSourcesCompileTest.run(dir, Map.of(), 30, "g++", "--version").exitCode() == 0, "no g++");
    Path dep = dir.resolve("dep");
    Path gpu = dir.resolve("linux-x86_64-gpu");
    Files.createDirectories(dep);
    Files.createDirectories(gpu);
    Files.writeString(dep.resolve("cublas_like.c"), "int vlmr1_missing(void) { return 1; }\n");
    Files.writeString(gpu.resolve("torch_cuda_like.c"), "int vlmr1_missing(void);\n"
        + "int vlmr1_uses(void) { return vlmr1_missing(); }\n");
    assertEquals(0, CudaSourcesCompileTest.run(dep, Map.of(), 60, "g++", "-x", "c", "-shared", "-fPIC",
        "-Wl,-soname,libvlmr1missing.so.13", "-o", "libvlmr1missing.so", "cublas_like.c").exitCode());
    CudaSourcesCompileTest.Run linked = CudaSourcesCompileTest.run(gpu, Map.of(), 60, "g++", "-x", "c", "-shared",
        "-fPIC", "-o", "libtorch_cuda.so", "torch_cuda_like.c", "-L" + dep, "-lvlmr1missing");
    assertEquals(0, linked.exitCode(), linked.output());
    Files.delete(dep.resolve("libvlmr1missing.so"));
    assumeTrue(MissingLibraries.of(gpu.resolve("libtorch_cuda.so")).isPresent(), "no ldd on this machine");

    String reason = MissingLibraries.noCudaReason(gpu.resolve("libtorch_cpu.so"));
    assertEquals("the pytorch -gpu build is loaded, but not its CUDA part (libtorch_cuda.so): the system "
        + "lacks libvlmr1missing.so.13", reason);
    assertTrue(MissingLibraries.noCudaReason(dir.resolve("linux-x86_64/libtorch_cpu.so"))
        .contains("CPU natives of the pytorch preset"));
    assertTrue(MissingLibraries.noCudaReason(null).contains("CPU natives of the pytorch preset"));
  }
}
