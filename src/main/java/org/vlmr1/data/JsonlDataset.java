// VLM-R1's training data (grpo_jsonl.py, VLM-R1-SPEC.md 2.1): JSONL files with "image" (string, list or absent),
// "conversations" [question, solution] and optional per-line accu_reward_method, each file with its image folder and
// reward method; validated before training with file-and-line errors.
package org.vlmr1.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vlmr1.util.FileKinds;
import org.vlmr1.util.Json;
import org.vlmr1.util.PyRepr;
import org.vlmr1.util.PyText;

/** Loads and validates VLM-R1 JSONL datasets. */
public final class JsonlDataset {
  private JsonlDataset() {}

  /** What to do with a bad line: stop with its error, or drop it and report it in the summary. */
  public enum OnBadSample { FAIL, SKIP }

  /**
   * @param files the --data_file_paths entries
   * @param imageFolders one per file (--image_folders)
   * @param rewardMethods one per file (--reward_method), or null for "default" everywhere
   * @param allowOutside accept image paths that resolve outside their folder (VLM-R1 does)
   */
  public record Spec(List<Path> files, List<Path> imageFolders, List<String> rewardMethods, OnBadSample onBad,
      boolean allowOutside) {
    public Spec {
      if (files.isEmpty()) {
        throw new IllegalArgumentException("no data files (--data_file_paths a.jsonl:b.jsonl)");
      }
      if (imageFolders.size() != files.size()) {
        throw new IllegalArgumentException(files.size() + " data files but " + imageFolders.size()
            + " image folders: --data_file_paths and --image_folders need the same number of ':'-separated entries");
      }
      if (rewardMethods != null && rewardMethods.size() != files.size()) {
        throw new IllegalArgumentException(files.size() + " data files but " + rewardMethods.size()
            + " reward methods: --reward_method needs one entry per data file");
      }
      files = List.copyOf(files);
      imageFolders = List.copyOf(imageFolders);
      rewardMethods = rewardMethods == null ? null : List.copyOf(rewardMethods);
    }
  }

  /**
   * The loaded examples and the problems found.
   *
   * @param skipped the bad lines dropped (--on_bad_sample skip)
   * @param unknownMethods accu_reward_method values no method knows, by file and lines (scored as default)
   * @param warnings other lines that load but probably not as meant, one entry per file and kind
   */
  public record Loaded(List<Example> examples, List<String> skipped, List<String> unknownMethods,
      List<String> warnings) {
    public Loaded {
      unknownMethods = unknownMethods == null ? List.of() : List.copyOf(unknownMethods);
      warnings = warnings == null ? List.of() : List.copyOf(warnings);
    }

    /** One line of counts, then one indented line per unknown method (the train command prints it once). */
    public String summary() {
      long images = examples.stream().mapToLong(e -> e.images().size()).sum();
      StringBuilder sb = new StringBuilder(examples.size() + " examples (" + images + " images)"
          + (skipped.isEmpty() ? "" : ", " + skipped.size() + " bad lines skipped"));
      unknownMethods.forEach(u -> sb.append("\n  warning: ").append(u));
      warnings.forEach(w -> sb.append("\n  warning: ").append(w));
      return sb.toString();
    }
  }

  /** {@link #load(Spec, MethodNames)} without checking accu_reward_method values. */
  public static Loaded load(Spec spec) throws IOException {
    return load(spec, null);
  }

  /**
   * Reads and validates the data files.
   *
   * @param methods the accuracy methods the scorer knows: values that name none are listed once in
   *     {@link Loaded#unknownMethods} (they are scored as default); null checks nothing
   */
  public static Loaded load(Spec spec, MethodNames methods) throws IOException {
    List<Parsed> lines = new ArrayList<>();
    UnknownMethods unknown = new UnknownMethods(methods);
    List<String> warnings = new ArrayList<>();
    boolean stop = false; // fail: a bad line ends the reading
    for (int f = 0; f < spec.files().size() && !stop; f++) {
      Path file = spec.files().get(f);
      Path folder = spec.imageFolders().get(f);
      String method = spec.rewardMethods() == null ? "default" : spec.rewardMethods().get(f);
      if (Files.isDirectory(file)) {
        throw new IOException("data file " + file + " is a folder; --data_file_paths takes JSONL files, "
            + "':'-separated");
      }
      if (!Files.isRegularFile(file)) {
        throw new IOException("data file " + file + " " + FileKinds.notAFile(file));
      }
      unknown.file(file.getFileName().toString(), method);
      try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        int lineNo = 0;
        int firstImagePathOnly = 0; // the first line with "image_path" and no "image", and how many there are
        int imagePathOnly = 0;
        for (String line; (line = r.readLine()) != null; ) {
          lineNo++;
          if (line.isBlank()) {
            continue;
          }
          String where = file.getFileName() + ":" + lineNo;
          try {
            Example e = parse(line, where, folder, method, spec.allowOutside());
            lines.add(new Parsed(e, null));
            if (e.images().isEmpty() && e.fields().containsKey("image_path")) {
              if (imagePathOnly++ == 0) {
                firstImagePathOnly = lineNo;
              }
            }
            if (!java.util.Objects.equals(e.accuRewardMethod(), method)) {
              unknown.line(file.getFileName().toString(), lineNo, e.accuRewardMethod());
            }
          } catch (IllegalArgumentException e) {
            lines.add(new Parsed(null, e.getMessage()));
            stop = spec.onBad() == OnBadSample.FAIL;
            if (stop) {
              break; // the lines before it still get their image check: the first bad line is the one reported
            }
          }
        }
        if (imagePathOnly > 0) {
          warnings.add(imagePathWarning(file.getFileName() + ":" + firstImagePathOnly, imagePathOnly));
        }
      } catch (java.nio.charset.CharacterCodingException e) {
        throw new IOException("data file " + file + ", line " + firstNonUtf8Line(file) + ": not UTF-8 text (a "
            + "binary file?); --data_file_paths takes JSONL files", e);
      }
    }
    Map<Path, String> badImages = ImageHeaders.check(lines.stream().filter(l -> l.example() != null)
        .flatMap(l -> l.example().images().stream()).toList());
    List<Example> out = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    for (Parsed l : lines) {
      String error = l.error() != null ? l.error() : imageError(l.example(), badImages);
      if (error == null) {
        out.add(l.example());
      } else if (spec.onBad() == OnBadSample.FAIL) {
        throw new IllegalArgumentException(error + " (use --on_bad_sample skip to drop bad lines)");
      } else {
        skipped.add(error);
      }
    }
    return new Loaded(out, skipped, unknown.report(), warnings);
  }

  /**
   * VLM-R1's loader builds image_path from "image" (joined to the file's image folder) and never documents reading
   * it from a line (VLM-R1-SPEC.md 2.1), so such a line trains text-only: said once per file, as it is likely a
   * converted dataset that lost its images.
   */
  private static String imagePathWarning(String firstLine, int count) {
    return firstLine + ": the line has \"image_path\" but no \"image\" and trains text-only (VLM-R1 reads images "
        + "from \"image\", relative to --image_folders)" + (count > 1 ? "; " + (count - 1) + " more line"
        + (count == 2 ? "" : "s") + " of this file alike" : "");
  }

  /** A line read: its example, or why it is bad. */
  private record Parsed(Example example, String error) {}

  /** The first of the example's images whose header check failed, as a bad-line message; null when all passed. */
  private static String imageError(Example e, Map<Path, String> badImages) {
    for (Path p : e.images()) {
      String why = badImages.get(p);
      if (why != null) {
        return e.source() + ": image " + p + ": " + why;
      }
    }
    return null;
  }

  /**
   * The 1-based number of the first line of {@code file} that is not valid UTF-8: the reader decodes ahead of the
   * line it returns, so the line it failed on is not the line at fault.
   */
  static long firstNonUtf8Line(Path file) throws IOException {
    java.nio.charset.CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder();
    try (java.io.InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file))) {
      java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
      long lineNo = 1;
      for (int b; (b = in.read()) != -1 || line.size() > 0; ) {
        if (b != -1 && b != '\n') {
          line.write(b);
          continue;
        }
        try {
          dec.reset().decode(java.nio.ByteBuffer.wrap(line.toByteArray()));
        } catch (java.nio.charset.CharacterCodingException e) {
          return lineNo;
        }
        if (b == -1) {
          break;
        }
        line.reset();
        lineNo++;
      }
      return lineNo;
    }
  }

  @SuppressWarnings("unchecked")
  static Example parse(String line, String where, Path folder, String fileMethod, boolean allowOutside) {
    Object parsed;
    try {
      parsed = Json.parse(line);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage());
    }
    if (!(parsed instanceof Map<?, ?>)) {
      throw new IllegalArgumentException(where + ": expected a JSON object");
    }
    Map<String, Object> obj = new LinkedHashMap<>((Map<String, Object>) parsed);
    Object conv = obj.remove("conversations");
    if (!(conv instanceof List<?> turns) || turns.size() < 2 || !(turns.get(0) instanceof Map<?, ?> q)
        || !(turns.get(1) instanceof Map<?, ?> a) || !(q.get("value") instanceof String question)) {
      throw new IllegalArgumentException(where + ": \"conversations\" must hold the question and the solution "
          + "({\"from\": \"human\", \"value\": ...}, {\"from\": \"gpt\", \"value\": ...})");
    }
    if (!a.containsKey("value")) {
      throw new IllegalArgumentException(where + ": the solution turn has no \"value\"");
    }
    Object sol = a.get("value");
    // grpo_jsonl.py: a string solution loses its <answer> tags and is stripped; anything else is str()'d, as Python
    // prints it: [103.93, 299.99, 238.15, 477.41], 1e+20, True, None (a JSON null), {'a': [1, 2]}.
    String solution = sol instanceof String s ? PyText.strip(s.replace("<answer>", "").replace("</answer>", ""))
        : PyRepr.str(sol);
    List<Path> images = new ArrayList<>();
    Object img = obj.remove("image");
    if (img instanceof String s) {
      images.add(resolve(folder, s, where, allowOutside));
    } else if (img instanceof List<?> l) {
      for (Object o : l) {
        if (!(o instanceof String s)) {
          throw new IllegalArgumentException(where + ": \"image\" must be a string or a list of strings");
        }
        images.add(resolve(folder, s, where, allowOutside));
      }
    } else if (img != null) {
      throw new IllegalArgumentException(where + ": \"image\" must be a string or a list of strings");
    }
    int placeholders = question.split("<image>", -1).length - 1;
    if (placeholders > images.size()) {
      // VLM-R1 drops the placeholders and puts the images first: a placeholder without its image means a lost image.
      throw new IllegalArgumentException(where + ": the question has " + placeholders + " <image> placeholder"
          + (placeholders == 1 ? "" : "s") + " but the line has " + (images.isEmpty() ? "no \"image\""
              : "only " + images.size() + " image" + (images.size() == 1 ? "" : "s")));
    }
    for (Path p : images) {
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException(where + ": image " + p + " " + FileKinds.notAFile(p));
      }
    }
    // item.get('accu_reward_method', file_method): a line's own value wins, whatever it is; null (None) and
    // non-strings name no method, so they score as default.
    String method = fileMethod;
    if (obj.containsKey("accu_reward_method")) {
      Object m = obj.remove("accu_reward_method");
      method = m == null ? null : m instanceof String ms ? ms : Json.write(m);
    }
    Object id = obj.get("id");
    return new Example(id == null ? where : String.valueOf(id), question.replace("<image>", ""), images, solution,
        method, obj, where);
  }

  private static Path resolve(Path folder, String p, String where, boolean allowOutside) {
    Path base = folder.toAbsolutePath().normalize();
    Path resolved = base.resolve(p).normalize();
    if (!allowOutside && !resolved.startsWith(base)) {
      throw new IllegalArgumentException(where + ": image path " + p + " resolves outside the image folder " + base
          + " (pass --allow_image_paths_outside_folders for datasets that need it)");
    }
    return resolved;
  }
}
