// How a run started, kept in each of its checkpoints: the starting model's fingerprint (vlmr1_fingerprint.json) and
// every flag of the command after --config merging (vlmr1_args.json). A resume checks them: another starting model
// would silently change the KL reference, so it is refused; the same model at another path, and changed flags (a new
// --max_steps is ordinary), are reported.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.vlmr1.util.Json;

/**
 * A run's starting point.
 *
 * @param model the starting model (the reference of the KL term)
 * @param args every flag's value by name (a String, a List of Strings, or null when unset)
 */
public record RunProvenance(ModelFingerprint model, Map<String, Object> args) {
  public static final String FINGERPRINT_FILE = "vlmr1_fingerprint.json";
  public static final String ARGS_FILE = "vlmr1_args.json";

  public RunProvenance {
    Objects.requireNonNull(model, "model");
    args = Collections.unmodifiableMap(new LinkedHashMap<>(args));
  }

  /** Writes both files into a checkpoint folder being saved. */
  void write(Path checkpoint) throws IOException {
    Json.writeFile(checkpoint.resolve(FINGERPRINT_FILE), model.toJson());
    Json.writeFile(checkpoint.resolve(ARGS_FILE), args);
  }

  /**
   * Checks {@code checkpoint} before this run resumes from it; returns the warnings to print (the model at another
   * path, flags that changed, files missing from a checkpoint written before vlmr1 kept them).
   *
   * @throws IllegalArgumentException when the checkpoint's run started from another model
   */
  public List<String> check(Path checkpoint) throws IOException {
    List<String> warnings = new ArrayList<>();
    Path fp = checkpoint.resolve(FINGERPRINT_FILE);
    if (!Files.isRegularFile(fp)) {
      warnings.add(checkpoint + " records no starting model (no " + FINGERPRINT_FILE + ": written before vlmr1 kept "
          + "one), so this resume cannot check that --model_name_or_path is the model it was trained from");
    } else {
      ModelFingerprint was = ModelFingerprint.fromJson(Json.readObject(fp), fp);
      if (!was.sha256().equals(model.sha256())) {
        throw new IllegalArgumentException(checkpoint + " was trained from " + was.path() + ", but "
            + "--model_name_or_path " + model.path() + " is another model (" + model.differencesFrom(was) + "); the "
            + "starting model is the KL reference, so resume with --model_name_or_path " + was.path()
            + ", or start a new run in another --output_dir");
      }
      if (!was.path().equals(model.path())) {
        warnings.add("the starting model moved: " + checkpoint + " was trained from " + was.path() + ", this run "
            + "names " + model.path() + " (the same config.json and shard sizes, so resuming)");
      }
    }
    Path af = checkpoint.resolve(ARGS_FILE);
    if (Files.isRegularFile(af)) {
      List<String> changed = changedFlags(Json.readObject(af));
      if (!changed.isEmpty()) {
        warnings.add("flags changed since " + checkpoint.getFileName() + " was saved: " + String.join(", ", changed));
      }
    }
    return warnings;
  }

  /** "--name: old -> new" for every flag whose value differs from {@code was}'s, in this run's flag order. */
  List<String> changedFlags(Map<String, Object> was) {
    Set<String> names = new LinkedHashSet<>(args.keySet());
    names.addAll(was.keySet());
    List<String> out = new ArrayList<>();
    for (String n : names) {
      Object a = was.get(n);
      Object b = args.get(n);
      if (!Objects.equals(a, b)) {
        out.add("--" + n + ": " + show(a) + " -> " + show(b));
      }
    }
    return out;
  }

  private static String show(Object v) {
    if (v == null) {
      return "(unset)";
    }
    return v instanceof List<?> l ? String.join(",", l.stream().map(String::valueOf).toList()) : v.toString();
  }
}
