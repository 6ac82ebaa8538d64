// The identity of a run's starting model (--model_name_or_path, also the KL reference): sha256 over its config.json
// bytes and the names and sizes of its safetensors shards. No weight is read, so it costs nothing on a 7B model; it
// tells apart another model, another size or another config, not two trainings of one architecture that happen to
// have the same file sizes.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A starting model's fingerprint.
 *
 * @param path the model folder as this run resolved it (absolute)
 * @param sha256 over config.json's bytes, then each shard's "name\0size\n" in name order
 * @param configSha256 sha256 of config.json alone (to say what differs)
 * @param shards every *.safetensors file's size in bytes, by name
 */
public record ModelFingerprint(String path, String sha256, String configSha256, Map<String, Long> shards) {
  public ModelFingerprint {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(sha256, "sha256");
    Objects.requireNonNull(configSha256, "configSha256");
    shards = Map.copyOf(shards);
  }

  /** The fingerprint of the model folder {@code dir}. */
  public static ModelFingerprint of(Path dir) throws IOException {
    Path config = dir.resolve("config.json");
    if (!Files.isRegularFile(config)) {
      throw new IOException(dir + " has no config.json: not a model folder");
    }
    byte[] cfg = Files.readAllBytes(config);
    Map<String, Long> shards = new TreeMap<>();
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList()) {
        shards.put(p.getFileName().toString(), Files.size(p)); // follows hub-cache symlinks to the blobs
      }
    }
    MessageDigest all = newSha256();
    all.update(cfg);
    shards.forEach((n, size) -> all.update((n + "\0" + size + "\n").getBytes(StandardCharsets.UTF_8)));
    return new ModelFingerprint(dir.toAbsolutePath().normalize().toString(), hex(all.digest()),
        hex(newSha256().digest(cfg)), shards);
  }

  Map<String, Object> toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model_path", path);
    m.put("sha256", sha256);
    m.put("config_sha256", configSha256);
    m.put("shards", new TreeMap<>(shards));
    return m;
  }

  /** The fingerprint stored in {@code file} ({@link #toJson}); an IOException naming the file when malformed. */
  static ModelFingerprint fromJson(Map<String, Object> m, Path file) throws IOException {
    try {
      Map<String, Long> shards = new TreeMap<>();
      ((Map<?, ?>) m.get("shards")).forEach((k, v) -> shards.put((String) k, ((Number) v).longValue()));
      return new ModelFingerprint((String) m.get("model_path"), (String) m.get("sha256"),
          (String) m.get("config_sha256"), shards);
    } catch (ClassCastException | NullPointerException e) {
      throw new IOException(file + " is not a vlmr1 model fingerprint (model_path, sha256, config_sha256, shards)", e);
    }
  }

  /** What differs from {@code was} ("config.json differs; model.safetensors 10 -> 12 bytes"), "" when nothing. */
  String differencesFrom(ModelFingerprint was) {
    List<String> out = new ArrayList<>();
    if (!configSha256.equals(was.configSha256)) {
      out.add("config.json differs");
    }
    for (String n : new TreeSet<>(concat(was.shards.keySet(), shards.keySet()))) {
      Long a = was.shards.get(n);
      Long b = shards.get(n);
      if (a == null) {
        out.add(n + " is new (" + b + " bytes)");
      } else if (b == null) {
        out.add(n + " is missing (was " + a + " bytes)");
      } else if (!a.equals(b)) {
        out.add(n + " " + a + " -> " + b + " bytes");
      }
    }
    if (out.isEmpty() && !sha256.equals(was.sha256)) {
      out.add("the fingerprint differs");
    }
    return String.join("; ", out);
  }

  private static List<String> concat(Set<String> a, Set<String> b) {
    List<String> l = new ArrayList<>(a);
    l.addAll(b);
    return l;
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
