// The layers point one way (issue 13): each package may use only the packages below it, read from the import lines
// and qualified names of src/main/java. Today's violations are listed in KNOWN with the reason each must go; the list
// only shrinks: a new violation fails, and so does a listed one that no longer occurs (delete its line).
package org.vlmr1;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ArchitectureTest {
  private static final Path SOURCES = Path.of("src/main/java/org/vlmr1");
  private static final Pattern REFERENCE = Pattern.compile("\\borg\\.vlmr1\\.([a-z][a-z0-9.]*)\\.[A-Z]");

  /** What each package may use (besides itself): the target arrows, bottom to top. */
  static final Map<String, Set<String>> MAY_USE = Map.ofEntries(
      Map.entry("util", Set.of()),
      Map.entry("kernels", Set.of("util")),
      Map.entry("data", Set.of("kernels", "util")),
      Map.entry("reward", Set.of("kernels", "util")),
      Map.entry("model", Set.of("kernels", "util")),
      Map.entry("distributed", Set.of("kernels", "util")),
      Map.entry("module", Set.of("model", "kernels", "data", "reward", "util")),
      Map.entry("module.qwen", Set.of("module", "model", "kernels", "data", "reward", "util")),
      Map.entry("module.internvl", Set.of("module", "model", "kernels", "data", "reward", "util")),
      Map.entry("trainer", Set.of("distributed", "module", "model", "kernels", "data", "reward", "util")),
      // The demo builds its own tiny Qwen model; besides the benchmarks, the one place above the families naming one.
      Map.entry("demo", Set.of("trainer", "distributed", "module", "module.qwen", "model", "kernels", "data",
          "reward", "util")),
      // Benchmarks measure named families (e.g. generation on a tiny Qwen2.5-VL), as the demo runs one.
      Map.entry("bench", Set.of("trainer", "distributed", "module", "module.qwen", "module.internvl", "model",
          "kernels", "data", "reward", "util")),
      Map.entry("cli", Set.of("bench", "demo", "trainer", "distributed", "module", "model", "kernels", "data",
          "reward", "util")));

  /** Today's violations ("file -> package"), each to be removed by the change that fixes it. */
  static final Set<String> KNOWN = Set.of();

  @Test
  void layersPointOneWay() throws IOException {
    Set<String> found = violations();
    Set<String> fresh = new TreeSet<>(found);
    fresh.removeAll(KNOWN);
    Set<String> stale = new TreeSet<>(KNOWN);
    stale.removeAll(found);
    if (!fresh.isEmpty() || !stale.isEmpty()) {
      fail((fresh.isEmpty() ? "" : "imports against the layers (see MAY_USE): " + fresh + "\n")
          + (stale.isEmpty() ? "" : "fixed, so delete from KNOWN: " + stale));
    }
  }

  /** The rewards know no family: a family hands its reward functions over (VlmModule.selectRewardFunction). */
  @Test
  void rewardsNameNoFamily() throws IOException {
    try (Stream<Path> s = Files.walk(SOURCES.resolve("reward"))) {
      for (Path f : s.filter(p -> p.toString().endsWith(".java")).toList()) {
        String text = Files.readString(f);
        assertTrue(!text.contains("\"qwen\"") && !text.contains("\"internvl\""), f + " names a family");
      }
    }
  }

  /** The target arrows themselves have no cycle (so following them can create none). */
  @Test
  void theLayerMapIsAcyclic() {
    for (String start : MAY_USE.keySet()) {
      Deque<String> todo = new ArrayDeque<>(MAY_USE.get(start));
      Set<String> seen = new HashSet<>();
      while (!todo.isEmpty()) {
        String p = todo.pop();
        assertTrue(!p.equals(start), "a cycle through " + start);
        if (seen.add(p)) {
          todo.addAll(MAY_USE.getOrDefault(p, Set.of()));
        }
      }
    }
  }

  /** Every "file -> package" reference of src/main/java that MAY_USE does not allow. */
  static Set<String> violations() throws IOException {
    Set<String> out = new TreeSet<>();
    List<Path> files;
    try (Stream<Path> s = Files.walk(SOURCES)) {
      files = s.filter(p -> p.toString().endsWith(".java")).toList();
    }
    for (Path f : files) {
      String rel = SOURCES.relativize(f).toString().replace('\\', '/');
      String pkg = rel.contains("/") ? rel.substring(0, rel.lastIndexOf('/')).replace('/', '.') : "";
      Set<String> allowed = MAY_USE.get(pkg);
      if (allowed == null) {
        out.add(rel + " -> (package " + pkg + " has no place in MAY_USE)");
        continue;
      }
      Matcher m = REFERENCE.matcher(Files.readString(f));
      while (m.find()) {
        String target = m.group(1);
        if (!target.equals(pkg) && !allowed.contains(target)) {
          out.add(rel + " -> " + target);
        }
      }
    }
    return out;
  }
}
