// The CUDA twins of the native kernels (src/main/native/cuda) without a GPU: every function of the C ABI
// (vlmr1_cuda.h) has a definition, each .cu compiles with nvcc for sm_80 and sm_90 with no error and no warning, and
// `cppbuild.sh -extension=-gpu` builds the static and the shared library exporting that ABI. The nvcc tests skip
// themselves when no nvcc is installed; whether the kernels compute the right values is the GPU harness's question
// (src/test/cuda), which CudaEmulationTest also runs on the CPU over this source built with g++ and an emulation shim.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

class CudaSourcesCompileTest {

  private static final Path NATIVE = Path.of("src", "main", "native").toAbsolutePath();
  private static final Path CUDA = NATIVE.resolve("cuda");
  private static final Path HEADER = CUDA.resolve("vlmr1_cuda.h");

  /** The ABI's functions: every `name(` declared in the header that starts with vlmr1_cuda_. */
  static Set<String> abiFunctions() throws IOException {
    Matcher m = Pattern.compile("\\b(vlmr1_cuda_\\w+)\\s*\\(").matcher(Files.readString(HEADER));
    Set<String> names = new TreeSet<>();
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  static List<Path> cudaSources() throws IOException {
    try (Stream<Path> files = Files.list(CUDA)) {
      return files.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
    }
  }

  /** nvcc from $NVCC, else the PATH, else /usr/local/cuda/bin. */
  static Optional<Path> nvcc() {
    List<Path> candidates = new ArrayList<>();
    String env = System.getenv("NVCC");
    if (env != null && !env.isBlank()) {
      candidates.add(Path.of(env));
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (!dir.isEmpty()) {
        candidates.add(Path.of(dir, "nvcc"));
      }
    }
    candidates.add(Path.of("/usr/local/cuda/bin/nvcc"));
    return candidates.stream().filter(Files::isExecutable).findFirst();
  }

  record Run(int exitCode, String output) {}

  /** Runs cmd in dir with extra environment, stdout and stderr together; fails the test past the timeout. */
  static Run run(Path dir, Map<String, String> env, long timeoutSeconds, String... cmd)
      throws IOException, InterruptedException {
    // Output to a file, not a pipe: a chatty build cannot block on a full pipe, and the timeout stays enforceable.
    Path log = Files.createTempFile("vlmr1-cuda-test", ".log");
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
          .redirectOutput(log.toFile());
      pb.environment().putAll(env);
      Process p = pb.start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(String.join(" ", cmd) + " ran past " + timeoutSeconds + " s");
      }
      return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  @Test
  void everyAbiFunctionIsDefinedInACudaSource() throws IOException {
    Set<String> abi = abiFunctions();
    assertEquals(10, abi.size(), "the header's functions: " + abi);
    Set<String> defined = new LinkedHashSet<>();
    Pattern def = Pattern.compile("extern \"C\"[^;{]*?\\b(vlmr1_cuda_\\w+)\\s*\\([^;]*?\\)\\s*\\{", Pattern.DOTALL);
    for (Path cu : cudaSources()) {
      Matcher m = def.matcher(Files.readString(cu));
      while (m.find()) {
        assertTrue(defined.add(m.group(1)), m.group(1) + " is defined twice (again in " + cu.getFileName() + ")");
      }
    }
    assertEquals(abi, new TreeSet<>(defined), "ABI functions with a definition in " + CUDA);
  }

  @TestFactory
  @Tag("slow")
  Stream<DynamicTest> eachSourceCompilesForSm80AndSm90WithoutWarnings(@TempDir Path tmp) throws IOException {
    Optional<Path> nvcc = nvcc();
    assumeTrue(nvcc.isPresent(), "no nvcc (CUDA toolkit) on this machine");
    List<Path> sources = cudaSources();
    assertFalse(sources.isEmpty(), "no .cu sources in " + CUDA);
    // One nvcc call per file covers both architectures; -Werror all-warnings makes nvcc's own warnings errors, and
    // the output must be empty, which also catches the host compiler's -Wall -Wextra warnings.
    return sources.stream().map(cu -> DynamicTest.dynamicTest(cu.getFileName().toString(), () -> {
      Path obj = tmp.resolve(cu.getFileName() + ".o");
      Run r = run(CUDA, Map.of(), 300, nvcc.get().toString(), "-std=c++17", "-O3", "-Xcompiler", "-fPIC,-Wall,-Wextra",
          "-Werror", "all-warnings", "-gencode", "arch=compute_80,code=sm_80", "-gencode", "arch=compute_90,code=sm_90",
          "-c", cu.toString(), "-o", obj.toString());
      assertEquals(0, r.exitCode(), cu.getFileName() + " failed to compile:\n" + r.output());
      assertEquals("", r.output().strip(), cu.getFileName() + " compiled with diagnostics:\n" + r.output());
      assertTrue(Files.size(obj) > 0, "empty object " + obj);
    }));
  }

  @Test
  @Tag("slow")
  void cppbuildGpuExtensionBuildsBothLibraries(@TempDir Path tmp) throws Exception {
    Optional<Path> nvcc = nvcc();
    assumeTrue(nvcc.isPresent(), "no nvcc (CUDA toolkit) on this machine");
    Path top = copyBuildTree(tmp);
    // sm_90 only keeps the build short; the test above covers sm_80. The script must honour CUDA_ARCHS.
    Map<String, String> env = new HashMap<>(Map.of("NVCC", nvcc.get().toString(), "CUDA_ARCHS", "90"));
    Run r = run(top, env, 600, "bash", "cppbuild.sh", "-extension=-gpu");
    assertEquals(0, r.exitCode(), "cppbuild.sh -extension=-gpu failed:\n" + r.output());
    assertTrue(r.output().contains("arch=compute_90,code=sm_90") && !r.output().contains("sm_80"),
        "CUDA_ARCHS=90 should build sm_90 only:\n" + r.output());
    Path out;
    try (Stream<Path> dirs = Files.list(top.resolve("cppbuild"))) {
      out = dirs.filter(p -> p.getFileName().toString().endsWith("-gpu")).findFirst()
          .orElseThrow(() -> new AssertionError("no cppbuild/<platform>-gpu folder:\n" + r.output()));
    }
    for (String f : List.of("lib/libvlmr1kernels.a", "lib/libvlmr1kernels_cuda.a", "lib/libvlmr1cuda.so",
        "include/vlmr1_kernels.h", "include/vlmr1_cuda.h")) {
      Path p = out.resolve(f);
      assertTrue(Files.isRegularFile(p) && Files.size(p) > 0, "missing or empty " + p + ":\n" + r.output());
    }
    Set<String> abi = abiFunctions();
    // Exactly the ABI: the library's internal helpers are hidden, and the static CUDA runtime exports nothing.
    Set<String> shared = definedFunctions(out.resolve("lib/libvlmr1cuda.so"), "-D");
    assertEquals(abi, shared, "the functions libvlmr1cuda.so exports");
    Set<String> archive = definedFunctions(out.resolve("lib/libvlmr1kernels_cuda.a"), "-g");
    assertTrue(archive.containsAll(abi), "libvlmr1kernels_cuda.a lacks some of " + abi + ": " + archive);
    jniGlueNeedsTheCudaRuntime(out, tmp.resolve("glue"));
  }

  /**
   * The JNI glue as {@code mvn -Pgpu} links it (JavaCPP's Builder with CudaNative's -gpu @Platform) against the
   * archive cppbuild.sh wrote and the toolkit's libcudart ({@code ${cuda.home}/lib64}, the pom's default
   * /usr/local/cuda): the library must need libcudart.so and leave no symbol undefined. Debian's and Ubuntu's g++ link
   * --as-needed, and JavaCPP passes the @Platform's link list in reverse, so with cudart listed last the linker met
   * libcudart before the archive that uses it and dropped it: the old glue had no NEEDED libcudart and
   * __cudaRegisterFatBinary undefined, a symbol lookup error when a GPU machine loads it.
   */
  private static void jniGlueNeedsTheCudaRuntime(Path cppbuildOut, Path glue) throws Exception {
    Path cudaLib = Path.of(System.getenv().getOrDefault("CUDA_HOME", "/usr/local/cuda"), "lib64");
    assumeTrue(Files.exists(cudaLib.resolve("libcudart.so")), "no libcudart.so under " + cudaLib);
    String jvm = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Run built = run(Path.of("."), Map.of(), 300, jvm, "-cp", System.getProperty("java.class.path"),
        "org.bytedeco.javacpp.tools.Builder", "-d", glue.toString(), "-properties",
        org.bytedeco.javacpp.Loader.getPlatform(), "-Dplatform.extension=-gpu",
        "-Dplatform.includepath=" + cppbuildOut.resolve("include"),
        "-Dplatform.linkpath=" + cppbuildOut.resolve("lib") + java.io.File.pathSeparator + cudaLib,
        CudaNative.class.getName());
    Path lib = glue.resolve(System.mapLibraryName("jniCudaNative"));
    assertTrue(built.exitCode() == 0 && Files.isRegularFile(lib), "JavaCPP's Builder did not build " + lib + ":\n"
        + built.output());
    Run ldd = run(Path.of("."), Map.of(), 60, "ldd", "-r", lib.toString());
    System.out.println(ldd.output());
    assertTrue(ldd.output().contains("libcudart.so"), "the glue does not need libcudart:\n" + ldd.output());
    assertFalse(ldd.output().contains("undefined symbol"), "the glue leaves symbols undefined:\n" + ldd.output());
  }

  @Test
  void gpuExtensionWithoutNvccFailsWithAClearMessage(@TempDir Path tmp) throws Exception {
    Path top = copyBuildTree(tmp);
    Run r = run(top, Map.of("NVCC", tmp.resolve("no-such-nvcc").toString()), 60, "bash", "cppbuild.sh",
        "-extension=-gpu");
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.output().contains("needs the CUDA toolkit's nvcc"), r.output());
    assertFalse(Files.exists(top.resolve("cppbuild")), "nothing should be built before the nvcc check");
  }

  /** cppbuild.sh and src/main/native under tmp, so the test never touches this checkout's cppbuild/. */
  private static Path copyBuildTree(Path tmp) throws IOException {
    Path top = tmp.resolve("tree");
    Files.createDirectories(top);
    Files.copy(Path.of("cppbuild.sh"), top.resolve("cppbuild.sh"));
    try (Stream<Path> files = Files.walk(NATIVE)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path dest = top.resolve("src/main/native").resolve(NATIVE.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(dest);
        } else {
          Files.copy(p, dest);
        }
      }
    }
    return top;
  }

  /** The global functions a library defines (nm; -D for a shared library's exports, -g for an archive). */
  private static Set<String> definedFunctions(Path lib, String scope) throws Exception {
    Run nm = run(lib.getParent(), Map.of(), 60, "nm", scope, "--defined-only", lib.toString());
    assertEquals(0, nm.exitCode(), nm.output());
    Set<String> names = new TreeSet<>();
    for (String line : nm.output().split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length == 3 && f[1].equals("T")) {
        names.add(f[2]);
      }
    }
    return names;
  }
}
