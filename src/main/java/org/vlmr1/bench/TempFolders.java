// The benchmark rows' temporary checkpoints and data, removed when a row closes.
package org.vlmr1.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/** Deletes a row's temporary folder. */
final class TempFolders {
  private TempFolders() {}

  /** Deletes {@code dir} and everything below it; a folder left behind is harmless, so failures are ignored. */
  static void delete(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp folder left behind is harmless
    }
  }
}
