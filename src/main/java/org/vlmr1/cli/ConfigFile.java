// --config FILE (or --config=FILE) for every command: a JSON object or YAML mapping (read by Jackson, so quotes,
// comments and lists are YAML's) whose keys are the command's flags; a flag given on the command line, in any spelling
// (--key, --key-name, --key=value), replaces the file's value, lists included.
package org.vlmr1.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vlmr1.util.Json;

/** Turns a configuration file into command-line arguments. */
final class ConfigFile {
  private static final YAMLMapper YAML = new YAMLMapper();

  private ConfigFile() {}

  /** {@code args} with the file's settings put in front (so the command line overrides them). */
  static List<String> expand(List<String> args) throws IOException {
    List<String> rest = new ArrayList<>(args);
    Path file = null;
    for (int i = 0; i < rest.size(); i++) {
      String a = rest.get(i);
      if (a.equals("--config")) {
        if (i + 1 >= rest.size()) {
          throw new UsageException("--config needs a file");
        }
        file = Path.of(rest.get(i + 1));
        rest.subList(i, i + 2).clear();
        break;
      }
      if (a.startsWith("--config=")) {
        file = Path.of(a.substring("--config=".length()));
        rest.remove(i);
        break;
      }
    }
    if (file == null) {
      return args;
    }
    if (!Files.isRegularFile(file)) {
      throw new UsageException("--config " + file + " is not a file");
    }
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, Object> e : read(file).entrySet()) {
      String key = e.getKey().replace('-', '_');
      if (givenOnCommandLine(rest, key)) {
        continue; // the command line wins, and its list replaces the file's
      }
      out.add("--" + key);
      if (e.getValue() instanceof List<?> l) {
        for (Object v : l) {
          out.add(scalar(file, key, v));
        }
      } else {
        out.add(scalar(file, key, e.getValue()));
      }
    }
    // Positionals stay first (e.g. bench's suite name), then the file's flags, then the command line's.
    List<String> merged = new ArrayList<>();
    int k = 0;
    while (k < rest.size() && !rest.get(k).startsWith("--")) {
      merged.add(rest.get(k++));
    }
    merged.addAll(out);
    merged.addAll(rest.subList(k, rest.size()));
    return merged;
  }

  /** Whether {@code args} give flag {@code key} in snake_case or kebab-case, with or without "=value". */
  private static boolean givenOnCommandLine(List<String> args, String key) {
    for (String a : args) {
      if (a.startsWith("--")) {
        String name = a.substring(2);
        int eq = name.indexOf('=');
        if ((eq >= 0 ? name.substring(0, eq) : name).replace('-', '_').equals(key)) {
          return true;
        }
      }
    }
    return false;
  }

  private static String scalar(Path file, String key, Object v) {
    if (v == null || v instanceof Map<?, ?> || v instanceof List<?>) {
      throw new UsageException(file + ": " + key + " must be a value or a list of values, got " + Json.shortened(v));
    }
    return String.valueOf(v);
  }

  /** The file's top-level mapping: JSON when it starts with '{', else YAML. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> read(Path file) throws IOException {
    String text;
    try {
      text = Files.readString(file);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new UsageException(file + ": not UTF-8 text (a JSON object or YAML mapping is expected)");
    }
    Object o;
    try {
      o = text.trim().startsWith("{") ? Json.parse(text) : YAML.readValue(text, Object.class);
    } catch (IllegalArgumentException | JacksonException e) {
      throw new UsageException(file + ": " + e.getMessage().lines().findFirst().orElse("unreadable"));
    }
    if (o == null) {
      return Map.of(); // an empty file
    }
    if (!(o instanceof Map<?, ?> m)) {
      throw new UsageException(file + ": expected a mapping of flag names to values, got " + Json.shortened(o));
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      if (e.getValue() instanceof Map<?, ?>) {
        throw new UsageException(file + ": " + Json.shortened(e.getKey()) + " is a nested mapping; flags are flat "
            + "'key: value' pairs");
      }
      out.put(String.valueOf(e.getKey()), e.getValue());
    }
    return (Map<String, Object>) (Map<String, ?>) out;
  }
}
