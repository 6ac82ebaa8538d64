// Proves the native path is the one in use when this build made it, that libtorch comes from the JavaCPP cache (not
// a system libtorch), that one OpenMP runtime is mapped, and that without the native library every kernel falls back
// to its composite with one warning instead of crashing.
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
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLoadingTest {

  static boolean expectNative() {
    return Boolean.parseBoolean(System.getProperty("vlmr1.expectNative", "false"));
  }

  @Test
  void nativeKernelsAreInUseWhenThisBuildMadeThem() {
    assumeTrue(expectNative(), "this build skipped the native library (-Djavacpp.skip=true)");
    assertEquals(KernelBackend.NATIVE, GrpoKernels.backend(), GrpoKernels.describeBackend());
    assertFalse(TorchRuntime.mappedLibraries("libjniGrpoNative").isEmpty(), "the JNI library is mapped");
  }

  @Test
  void libtorchComesFromTheJavaCppCache() throws IOException {
    TorchRuntime.load();
    Path cache = Loader.getCacheDir().toPath().toRealPath();
    List<Path> torch = TorchRuntime.mappedLibraries("libtorch_cpu");
    assertEquals(1, torch.size(), "exactly one libtorch_cpu mapped: " + torch);
    assertTrue(torch.get(0).toRealPath().startsWith(cache), torch + " should be under " + cache);
  }

  @Test
  void oneOpenMpRuntime() {
    GrpoKernels.backend();
    List<Path> gomp = TorchRuntime.mappedLibraries("libgomp");
    assertEquals(1, gomp.size(), "libtorch's libgomp only, no second OpenMP runtime: " + gomp);
  }

  @Test
  void fallsBackToTheCompositesWithoutTheNativeLibrary(@TempDir Path tmp) throws Exception {
    // The main classes without any platform folder (where the JNI library lives) on a fresh classpath.
    Path classes = Path.of("target", "classes").toAbsolutePath();
    Path copy = tmp.resolve("classes");
    try (Stream<Path> files = Files.walk(classes)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path rel = classes.relativize(p);
        if (rel.toString().contains(Loader.getPlatform())) {
          continue;
        }
        Path dst = copy.resolve(rel.toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(dst);
        } else {
          Files.copy(p, dst);
        }
      }
    }
    String deps = Files.readString(Path.of("target", "classpath.txt")).trim();
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-DOPT_OUT_TRACKING=true", "-cp", copy + java.io.File.pathSeparator + deps, "org.vlmr1.cli.Main", "doctor"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "doctor finished");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    System.out.println(out);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("libtorch composite (native kernels unavailable"), out);
    assertTrue(out.contains("self-check") && out.contains("skipped (composite vs itself)") && !out.contains(", ok"),
        "composite against itself is not a check: " + out);
    assertEquals(1, out.split("vlmr1 native kernels unavailable", -1).length - 1, "logged once: " + out);
  }
}
