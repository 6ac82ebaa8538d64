// Resolves --model_name_or_path as transformers does offline: an existing folder, or a Hugging Face id (ORG/NAME)
// whose snapshot is already in the local hub cache. Never reaches the network.
package org.vlmr1.module;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoint folder of a model argument. VLM-R1's scripts pass ids such as {@code Qwen/Qwen2.5-VL-3B-Instruct};
 * huggingface_hub keeps a downloaded repository as {@code <hub>/models--ORG--NAME/refs/main} (the commit hash of
 * branch main) and {@code <hub>/models--ORG--NAME/snapshots/<commit>/} (the files). The hub folder is, in
 * huggingface_hub's order: {@code HF_HUB_CACHE}, else {@code HUGGINGFACE_HUB_CACHE}, else {@code $HF_HOME/hub}, else
 * {@code $XDG_CACHE_HOME/huggingface/hub}, else {@code ~/.cache/huggingface/hub}.
 *
 * <p>Example: with {@code HF_HOME=/data/hf} and refs/main holding {@code 1b2c}, {@code Qwen/Qwen2.5-VL-3B-Instruct}
 * resolves to {@code /data/hf/hub/models--Qwen--Qwen2.5-VL-3B-Instruct/snapshots/1b2c}.
 */
public final class HubCache {
  // huggingface_hub's repo id grammar (validate_repo_id): an optional namespace; each part word characters, '-' and
  // '.', starting and ending with a word character.
  private static final String PART = "\\w(?:[\\w.\\-]*\\w)?";
  private static final Pattern REPO_ID = Pattern.compile("(?:" + PART + "/)?" + PART);

  private HubCache() {}

  /** {@link #resolve(String, Map)} with this process's environment. */
  public static Path resolve(String modelNameOrPath) {
    return resolve(modelNameOrPath, System.getenv());
  }

  /**
   * The checkpoint folder for a model argument.
   *
   * @param modelNameOrPath a folder, or a Hugging Face model id
   * @param env the environment variables (HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, HOME)
   * @throws IllegalArgumentException naming the folders looked in when it is neither a folder nor a cached id
   */
  public static Path resolve(String modelNameOrPath, Map<String, String> env) {
    if (modelNameOrPath == null || modelNameOrPath.isBlank()) {
      throw new IllegalArgumentException("no model given: pass a checkpoint folder or a Hugging Face id (ORG/NAME)");
    }
    Path asPath = Path.of(modelNameOrPath);
    if (Files.isDirectory(asPath)) {
      return asPath;
    }
    if (!looksLikeId(modelNameOrPath)) {
      throw new IllegalArgumentException("model " + modelNameOrPath + ": no such folder (and not a Hugging Face id "
          + "of the form ORG/NAME)");
    }
    Location hub = hubFolder(env);
    Path repo = hub.folder().resolve("models--" + modelNameOrPath.replace("/", "--"));
    Path ref = repo.resolve("refs").resolve("main");
    String where = "model " + modelNameOrPath + " is not a folder, and the Hugging Face cache has no ";
    String tail = " (hub cache " + hub.folder() + ", from " + hub.source() + "; vlmr1 never downloads: run "
        + "`huggingface-cli download " + modelNameOrPath + "` or pass a checkpoint folder)";
    if (!Files.isRegularFile(ref)) {
      List<String> snapshots = snapshots(repo);
      throw new IllegalArgumentException(where + ref + (snapshots.isEmpty() ? "" : " (snapshots there: "
          + String.join(", ", snapshots) + ")") + tail);
    }
    String commit;
    try {
      commit = Files.readString(ref, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + ref + ": " + e.getMessage(), e);
    }
    Path snapshot = repo.resolve("snapshots").resolve(commit);
    if (commit.isEmpty() || commit.contains("/") || !Files.isDirectory(snapshot)) {
      throw new IllegalArgumentException(where + "snapshot " + snapshot + " for the commit '" + commit + "' in "
          + ref + tail);
    }
    return snapshot;
  }

  /** Whether an argument that is not a folder reads as a model id rather than a mistyped path. */
  static boolean looksLikeId(String s) {
    return REPO_ID.matcher(s).matches() && !s.contains("--") && !s.contains("..") && s.length() <= 96;
  }

  /**
   * The hub cache folder and the variable it came from.
   *
   * @param source e.g. "HF_HOME=/data/hf", or the default with a note that none of the variables is set
   */
  public record Location(Path folder, String source) {}

  /** The hub cache folder for an environment, in huggingface_hub's order. */
  public static Location hubFolder(Map<String, String> env) {
    for (String var : new String[] {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"}) {
      String v = env.get(var);
      if (v != null && !v.isEmpty()) {
        return new Location(expandUser(v, env), var + "=" + v);
      }
    }
    String home = env.get("HF_HOME");
    if (home != null && !home.isEmpty()) {
      return new Location(expandUser(home, env).resolve("hub"), "HF_HOME=" + home);
    }
    String xdg = env.get("XDG_CACHE_HOME");
    if (xdg != null && !xdg.isEmpty()) {
      return new Location(expandUser(xdg, env).resolve("huggingface").resolve("hub"), "XDG_CACHE_HOME=" + xdg);
    }
    return new Location(expandUser("~/.cache/huggingface/hub", env), "the default: none of HF_HUB_CACHE, "
        + "HUGGINGFACE_HUB_CACHE, HF_HOME, XDG_CACHE_HOME is set");
  }

  /** Python's os.path.expanduser for a leading "~" (huggingface_hub applies it to these variables). */
  private static Path expandUser(String p, Map<String, String> env) {
    if (p.equals("~") || p.startsWith("~/")) {
      String home = env.getOrDefault("HOME", System.getProperty("user.home"));
      return Path.of(home + p.substring(1));
    }
    return Path.of(p);
  }

  private static List<String> snapshots(Path repo) {
    List<String> out = new ArrayList<>();
    Path dir = repo.resolve("snapshots");
    if (Files.isDirectory(dir)) {
      try (Stream<Path> s = Files.list(dir)) {
        s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().forEach(out::add);
      } catch (IOException e) {
        // only used to enrich the error message
      }
    }
    return out;
  }
}
