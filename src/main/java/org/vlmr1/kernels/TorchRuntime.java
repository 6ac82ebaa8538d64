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
import java.util.Set;
import org.bytedeco.javacpp.Loader;

/** The one place that loads libtorch. Idempotent and thread-safe. */
public final class TorchRuntime {
  private static volatile boolean loaded;

  private TorchRuntime() {}

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
