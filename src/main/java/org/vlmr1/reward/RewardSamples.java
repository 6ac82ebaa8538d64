// Builds RewardSamples from the JSON objects of a scoring file (bin/vlmr1 score): completion, solution and the
// example's fields, with image paths resolved inside an image folder.
package org.vlmr1.reward;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vlmr1.util.InputFrame;
import org.vlmr1.util.PyRepr;

/** JSON object → {@link RewardSample}. */
public final class RewardSamples {
  private RewardSamples() {}

  /** Keys that become RewardSample components rather than extra fields. */
  /** Pixels per image_grid_thw patch in VLM-R1's score inputs (Qwen's patch size). */
  private static final long PATCH = 14;
  private static final List<String> KNOWN = List.of("id", "completion", "solution", "problem", "image_path", "image",
      "image_grid_thw", "accu_reward_method");

  /** {@link #fromJson(Map, Path, String, boolean)} with image paths kept inside {@code imageRoot}. */
  public static RewardSample fromJson(Map<String, Object> obj, Path imageRoot, String where) {
    return fromJson(obj, imageRoot, where, false);
  }

  /**
   * @param obj one parsed JSONL line
   * @param imageRoot relative image paths resolve against it
   * @param where "line 12 of in.jsonl": the sample's id when the object has none, so errors name the line
   * @param allowOutside accept paths that resolve outside {@code imageRoot}, such as the absolute paths of VLM-R1's
   *     completion logs (train's --allow_image_paths_outside_folders)
   */
  public static RewardSample fromJson(Map<String, Object> obj, Path imageRoot, String where, boolean allowOutside) {
    Object completion = obj.get("completion");
    if (!(completion instanceof String)) {
      throw new IllegalArgumentException(where + ": \"completion\" must be a string (the decoded text)");
    }
    if (!obj.containsKey("solution")) {
      throw new IllegalArgumentException(where + ": \"solution\" is missing");
    }
    // str(solution), as VLM-R1's loader renders a non-string ground truth: [1.5, 2], True, None, {'a': 1}
    String sol = PyRepr.str(obj.get("solution"));
    Object id = obj.get("id");
    List<Path> images = new ArrayList<>();
    Object paths = obj.containsKey("image_path") ? obj.get("image_path") : obj.get("image");
    if (paths instanceof String p) {
      images.add(resolve(imageRoot, p, where, allowOutside));
    } else if (paths instanceof List<?> l) {
      for (Object p : l) {
        if (!(p instanceof String ps)) {
          throw new IllegalArgumentException(where + ": \"image_path\" must be a list of strings");
        }
        images.add(resolve(imageRoot, ps, where, allowOutside));
      }
    } else if (paths != null) {
      throw new IllegalArgumentException(where + ": \"image_path\" must be a string or a list of strings");
    }
    List<InputFrame> frames = new ArrayList<>();
    Object g = obj.get("image_grid_thw");
    if (g instanceof List<?> rows) {
      // one [t, h, w] per image; a single flat [t, h, w] is accepted for a one-image example
      List<?> list = !rows.isEmpty() && rows.get(0) instanceof Number ? List.of(rows) : rows;
      for (Object row : list) {
        if (!(row instanceof List<?> r) || r.size() != 3 || !(r.get(0) instanceof Number)
            || !(r.get(1) instanceof Number) || !(r.get(2) instanceof Number)) {
          throw new IllegalArgumentException(where + ": \"image_grid_thw\" must be a list of [t, h, w]");
        }
        long h = ((Number) r.get(1)).longValue();
        long w = ((Number) r.get(2)).longValue();
        if (((Number) r.get(0)).longValue() < 1 || h < 1 || w < 1) {
          throw new IllegalArgumentException(where + ": \"image_grid_thw\" entries must be >= 1, got " + r);
        }
        // VLM-R1's rule for its score inputs: a grid row's h and w count 14-pixel patches of the input frame
        frames.add(new InputFrame(w * PATCH, h * PATCH));
      }
    } else if (g != null) {
      throw new IllegalArgumentException(where + ": \"image_grid_thw\" must be a list of [t, h, w]");
    }
    Map<String, Object> extra = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : obj.entrySet()) {
      if (!KNOWN.contains(e.getKey()) && e.getValue() != null) {
        extra.put(e.getKey(), e.getValue());
      }
    }
    Object method = obj.get("accu_reward_method");
    Object problem = obj.get("problem");
    return new RewardSample(id == null ? where : String.valueOf(id), (String) completion, sol,
        problem instanceof String p ? p : null, images, frames, method instanceof String m ? m : null, extra);
  }

  private static Path resolve(Path root, String p, String where, boolean allowOutside) {
    Path base = root.toAbsolutePath().normalize();
    Path resolved = base.resolve(p).normalize();
    if (!allowOutside && !resolved.startsWith(base)) {
      throw new IllegalArgumentException(where + ": image path " + p + " leaves the image folder " + base
          + " (pass --allow_image_paths_outside_folders to accept it)");
    }
    return resolved;
  }
}
