// --config FILE for every command: a JSON object or flat YAML (key: value) whose keys are the command's flags; flags
// given on the command line win.
package org.vlmr1.cli;

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
  private ConfigFile() {}

  /** {@code args} with the file's settings put in front (so the command line overrides them). */
  static List<String> expand(List<String> args) throws IOException {
    int i = args.indexOf("--config");
    if (i < 0) {
      return args;
    }
    if (i + 1 >= args.size()) {
      throw new UsageException("--config needs a file");
    }
    Path file = Path.of(args.get(i + 1));
    if (!Files.isRegularFile(file)) {
      throw new UsageException("--config " + file + " is not a file");
    }
    List<String> rest = new ArrayList<>(args);
    rest.remove(i + 1);
    rest.remove(i);
    Map<String, Object> settings = read(file);
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, Object> e : settings.entrySet()) {
      String key = e.getKey().replace('-', '_');
      if (rest.contains("--" + key) || rest.contains("--" + key.replace('_', '-'))) {
        continue; // the command line wins
      }
      out.add("--" + key);
      if (e.getValue() instanceof List<?> l) {
        l.forEach(v -> out.add(String.valueOf(v)));
      } else {
        out.add(String.valueOf(e.getValue()));
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

  @SuppressWarnings("unchecked")
  static Map<String, Object> read(Path file) throws IOException {
    String text = Files.readString(file);
    if (text.trim().startsWith("{")) {
      Object o;
      try {
        o = Json.parse(text);
      } catch (IllegalArgumentException e) {
        throw new UsageException(file + ": " + e.getMessage());
      }
      return (Map<String, Object>) o;
    }
    Map<String, Object> out = new LinkedHashMap<>();
    int n = 0;
    for (String raw : text.split("\n")) {
      n++;
      String line = raw.replaceAll("\\s+#.*$", "").replaceAll("^#.*$", "");
      if (line.isBlank()) {
        continue;
      }
      int c = line.indexOf(':');
      if (c <= 0 || Character.isWhitespace(line.charAt(0))) {
        throw new UsageException(file + ":" + n + ": only flat 'key: value' YAML is read, got '" + raw.trim() + "'");
      }
      String key = line.substring(0, c).trim();
      String value = line.substring(c + 1).trim();
      if (value.startsWith("[") && value.endsWith("]")) {
        List<String> items = new ArrayList<>();
        for (String s : value.substring(1, value.length() - 1).split(",")) {
          if (!s.isBlank()) {
            items.add(unquote(s.trim()));
          }
        }
        out.put(key, items);
      } else {
        out.put(key, unquote(value));
      }
    }
    return out;
  }

  private static String unquote(String s) {
    if (s.length() >= 2 && (s.startsWith("\"") && s.endsWith("\"") || s.startsWith("'") && s.endsWith("'"))) {
      return s.substring(1, s.length() - 1);
    }
    return s;
  }
}
