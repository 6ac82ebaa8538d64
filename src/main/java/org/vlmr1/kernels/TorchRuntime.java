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
import org.vlmr1.util.NativeProcess;

/** The one place that loads libtorch. Idempotent and thread-safe. */
public final class TorchRuntime {
  private static volatile boolean loaded;

  private TorchRuntime() {}

  /**
   * The thread settings of processes that run libtorch, read by the native libraries once, when they load.
   * OMP_WAIT_POLICY=PASSIVE: libtorch's intra-op threads (libgomp) sleep when idle instead of spinning against
   * OpenBLAS's (on this project's 2-core machine a tiny-model SFT step took 1406 ms spinning, 792 ms passive).
   * OPENBLAS_NUM_THREADS=1: OpenBLAS starts no thread pool of its own. With a pool, its exit handler joins the pool's
   * threads, and when exit interrupts a multi-threaded BLAS call (a stop signal during a step) a thread goes back to
   * sleep and the join waits forever; one thread was also as fast or faster per step (README, "Threads").
   * {@link #load} sets them in this process before loading (so embedding programs, test forks and the launcher's
   * workers get them without a wrapper script); a value the user set wins.
   */
  public static final Map<String, String> THREAD_ENV = Map.of("OMP_WAIT_POLICY", "PASSIVE",
      "OPENBLAS_NUM_THREADS", "1");

  /** Adds {@link #THREAD_ENV} to a child process's environment, keeping values the user set. */
  public static void applyThreadEnv(Map<String, String> env) {
    THREAD_ENV.forEach(env::putIfAbsent);
  }

  /** A hint when this process runs without a {@link #THREAD_ENV} variable; null when it has them all. */
  public static String threadEnvHint() {
    List<String> missing = THREAD_ENV.keySet().stream().sorted().filter(k -> NativeProcess.getenv(k) == null)
        .toList();
    return missing.isEmpty() ? null
        : String.join(", ", missing) + " not set: libgomp's idle threads spin against OpenBLAS's (1.8x slower steps "
            + "on 2 cores) and OpenBLAS's exit handler can hang a stopped process; export "
            + String.join(" ", missing.stream().map(k -> k + "=" + THREAD_ENV.get(k)).toList())
            + " before starting the JVM (bin/vlmr1 does)";
  }

  /**
   * Puts {@link #THREAD_ENV} into this process's C environment before the libraries that read it load; too late
   * (and said so) when an embedding program loaded OpenBLAS or libgomp first.
   */
  private static void setThreadEnv() {
    List<Path> early = new ArrayList<>(mappedLibraries("libopenblas"));
    early.addAll(mappedLibraries("libgomp"));
    if (!early.isEmpty()) {
      return; // threadEnvHint reports what is missing
    }
    THREAD_ENV.forEach(NativeProcess::setenvIfAbsent);
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
      setThreadEnv();
      String platform = Loader.getPlatform();
      try {
        Loader.cacheResources("/org/bytedeco/openblas/" + platform + "/");
        Loader.cacheResources("/org/bytedeco/pytorch/" + platform + "/");
        // the -gpu flavour's libtorch (pytorch-platform-gpu) lives under <platform>-gpu/; none there is a no-op
        Loader.cacheResources("/org/bytedeco/pytorch/" + platform + "-gpu/");
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
