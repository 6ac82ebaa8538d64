// Reading the small JSON files of a run folder, with errors that name the file.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.vlmr1.util.Json;

/** JSON objects on disk. */
final class JsonFiles {
  private JsonFiles() {}

  /** The JSON object in {@code file}; an IOException naming the file when it is not one. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> readObject(Path file) throws IOException {
    Object v;
    try {
      v = Json.parse(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IllegalArgumentException | java.nio.charset.CharacterCodingException e) {
      throw new IOException(file + " is not valid JSON (" + e.getMessage() + ")", e);
    }
    if (!(v instanceof Map)) {
      throw new IOException(file + " does not hold a JSON object");
    }
    return (Map<String, Object>) v;
  }

  static void write(Path file, Object value) throws IOException {
    Files.writeString(file, Json.write(value) + "\n", StandardCharsets.UTF_8);
  }
}
