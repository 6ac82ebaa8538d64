// Loads libtorch through the JavaCPP preset, robustly: every preset library is extracted into the JavaCPP cache before
// the first load, so the dynamic linker resolves libtorch_cpu.so & co. from there and never from a system libtorch
// (a Debian libtorch 1.13 otherwise gets picked up on the first, cold-cache run and crashes: JAVACPP-NOTES.md, failure 10).
package org.vlmr1.kernels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.Loader;

/** The one place that loads libtorch. Idempotent and thread-safe. */
public final class TorchRuntime {
  private static volatile boolean loaded;

  private TorchRuntime() {}

  /**
   * Environment for processes that run libtorch: libtorch's intra-op threads (libgomp) sleep when idle instead of
   * spinning. Its default spin-wait and OpenBLAS's own thread pool fight over the cores; on this project's 2-core
   * machine a tiny-model SFT step took 1406 ms spinning and 792 ms passive. libgomp reads it once, when it loads, so
   * it must be in the environment before the JVM starts (bin/vlmr1, the launcher's workers and the benchmark's forked
   * JVMs set it; surefire too).
   */
  public static final Map<String, String> THREAD_ENV = Map.of("OMP_WAIT_POLICY", "PASSIVE");

  /** Adds {@link #THREAD_ENV} to a child process's environment, keeping values the user set. */
  public static void applyThreadEnv(Map<String, String> env) {
    THREAD_ENV.forEach(env::putIfAbsent);
  }

  /** A hint when this process started without {@link #THREAD_ENV}; null when it has it. */
  public static String threadEnvHint() {
    return System.getenv("OMP_WAIT_POLICY") != null ? null
        : "OMP_WAIT_POLICY is not set: libgomp's threads spin when idle and compete with OpenBLAS's (measured 1.8x "
            + "slower training steps on 2 cores); export OMP_WAIT_POLICY=PASSIVE before starting the JVM "
            + "(bin/vlmr1 does)";
  }

  /** Extracts the openblas and pytorch natives into the JavaCPP cache (once), then loads libtorch. */
  public static void load() {
    if (loaded) {
      return;
    }
    synchronized (TorchRuntime.class) {
      if (loaded) {
        return;
      }
      // DJL's tokenizer (used by later modules) phones home unless told not to; set before anything can load it.
      if (System.getProperty("OPT_OUT_TRACKING") == null) {
        System.setProperty("OPT_OUT_TRACKING", "true");
      }
      String platform = Loader.getPlatform();
      try {
        Loader.cacheResources("/org/bytedeco/openblas/" + platform + "/");
        Loader.cacheResources("/org/bytedeco/pytorch/" + platform + "/");
      } catch (IOException e) {
        throw new UncheckedIOException("could not extract the libtorch natives for " + platform
            + " into the JavaCPP cache (org.bytedeco.javacpp.cachedir, default ~/.javacpp/cache)", e);
      }
      Loader.load(org.bytedeco.pytorch.global.torch.class);
      String hint = threadEnvHint();
      if (hint != null) {
        System.err.println("vlmr1: " + hint);
      }
      loaded = true;
    }
  }

  /** The files of the shared libraries mapped into this process whose name starts with {@code prefix} (Linux only). */
  public static List<Path> mappedLibraries(String prefix) {
    Path maps = Path.of("/proc/self/maps");
    if (!Files.isReadable(maps)) {
      return List.of();
    }
    Set<Path> found = new LinkedHashSet<>();
    try {
      for (String line : Files.readAllLines(maps)) {
        int slash = line.indexOf('/');
        if (slash < 0) {
          continue;
        }
        Path file = Path.of(line.substring(slash).replace(" (deleted)", ""));
        if (file.getFileName().toString().startsWith(prefix)) {
          found.add(file);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new ArrayList<>(found);
  }
}
