// The refusal shared by commands that write a folder of files (init-tiny, make-synthetic): a non-empty --out is
// someone's earlier output, which the command would overwrite piecemeal, so it needs --overwrite.
package org.vlmr1.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Checks an output folder before a command writes into it. */
final class OutputFolder {
  /** The help line of the {@code --overwrite} flag of these commands. */
  static final FlagSpec OVERWRITE = FlagSpec.bool("overwrite", "write into a non-empty --out (files of the same "
      + "names are replaced, others stay)");

  private OutputFolder() {}

  /** A usage error naming {@code --flag} when {@code dir} exists and is not a folder (it is created when missing). */
  static void requireNotAFile(Path dir, String flag) {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new UsageException("--" + flag + " " + dir + " is a file; it must be a folder (created when missing)");
    }
  }

  /**
   * A usage error when {@code dir} is a file, or a folder holding anything while {@code --overwrite} is not given;
   * the message names the folder, a few of its entries and the flag.
   */
  static void check(Path dir, Flags f) throws IOException {
    requireNotAFile(dir, "out");
    if (!Files.isDirectory(dir) || f.getBoolean("overwrite")) {
      return;
    }
    List<String> names;
    long count;
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> all = s.sorted().toList();
      count = all.size();
      names = all.stream().limit(3).map(p -> p.getFileName().toString()).toList();
    }
    if (count > 0) {
      throw new UsageException("--out " + dir + " is not empty (" + count + " entr" + (count == 1 ? "y" : "ies")
          + ": " + String.join(", ", names) + (count > 3 ? ", ..." : "") + "): pass --overwrite to write into it, "
          + "or choose another folder");
    }
  }
}
