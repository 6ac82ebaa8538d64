// Why a path that should be a file is not one, for the one-line errors of every reader of user-named files: opening a
// fifo blocks until a writer comes (forward --inputs hung on one), and "does not exist" misleads for a folder.
package org.vlmr1.util;

import java.nio.file.Files;
import java.nio.file.Path;

/** Descriptions of paths that are not regular files. */
public final class FileKinds {
  private FileKinds() {}

  /**
   * What {@code path}, not a regular file, is, as the end of a sentence naming it: a folder, a fifo or device, a link
   * to nothing (dangling or looping), or nothing at all.
   */
  public static String notAFile(Path path) {
    if (Files.isDirectory(path)) {
      return "is a folder";
    }
    if (Files.exists(path)) {
      return "is not a regular file (a pipe, socket or device)";
    }
    if (Files.isSymbolicLink(path)) {
      return "is a symbolic link to nothing (its target is missing, or the links loop)";
    }
    return "does not exist";
  }
}
