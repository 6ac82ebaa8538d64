// A strict reader for the JSON files a checkpoint carries (config.json and friends). Jackson's asInt / asLong turn a
// string such as "sixty-four" into 0 without a word, which later fails far away ("head_dim/2 = 0"); here every
// value is checked for its type and a wrong one names the file, the key and the value given.
package org.vlmr1.util;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One JSON object of a file (the root, or a nested object such as vision_config), read with type checks. */
public final class JsonConfig {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final Path file;
  private final String prefix; // "" at the root, "vision_config." below it
  private final JsonNode node;

  private JsonConfig(Path file, String prefix, JsonNode node) {
    this.file = file;
    this.prefix = prefix;
    this.node = node;
  }

  /**
   * The JSON tree of {@code file}; an IOException naming the file and the line and column when it is not JSON (or
   * not UTF-8 text), is empty, or cannot be read.
   */
  public static JsonNode readTree(Path file) throws IOException {
    if (Files.isDirectory(file)) {
      throw new IOException(file + " is a folder, not a JSON file");
    }
    JsonNode n;
    try {
      n = MAPPER.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      throw new IOException(file + " is not valid JSON" + (at != null && at.getLineNr() > 0 ? " (line "
          + at.getLineNr() + ", column " + at.getColumnNr() + ")" : "") + ": " + e.getOriginalMessage(), e);
    }
    if (n == null || n.isMissingNode()) {
      throw new IOException(file + " is empty, not JSON");
    }
    return n;
  }

  /** The root object of {@code file} ({@link #readTree}); an IOException when the root is not an object. */
  public static JsonConfig read(Path file) throws IOException {
    JsonNode n = readTree(file);
    if (!n.isObject()) {
      throw new IOException(file + ": expected a JSON object, got " + describe(n));
    }
    return new JsonConfig(file, "", n);
  }

  /** A JSON object of {@code file} already parsed (for a reader that looks at the tree first). */
  public static JsonConfig of(Path file, JsonNode object) {
    return new JsonConfig(file, "", object);
  }

  public Path file() {
    return file;
  }

  /** The underlying node, for shapes this class does not read. */
  public JsonNode node() {
    return node;
  }

  /** Whether {@code key} is present with a non-null value (Python's None reads as absent, as transformers does). */
  public boolean has(String key) {
    JsonNode v = node.path(key);
    return !v.isMissingNode() && !v.isNull();
  }

  /** The nested object {@code key}; an empty one when absent; an IOException when it is not an object. */
  public JsonConfig child(String key) throws IOException {
    JsonNode v = node.path(key);
    if (v.isMissingNode() || v.isNull()) {
      return new JsonConfig(file, prefix + key + ".", MissingNode.getInstance());
    }
    if (!v.isObject()) {
      throw wrong(key, "an object", v);
    }
    return new JsonConfig(file, prefix + key + ".", v);
  }

  public long requireLong(String key) throws IOException {
    return asLong(key, require(key));
  }

  public int requireInt(String key) throws IOException {
    return asInt(key, require(key));
  }

  public long getLong(String key, long dflt) throws IOException {
    return has(key) ? asLong(key, node.get(key)) : dflt;
  }

  public int getInt(String key, int dflt) throws IOException {
    return has(key) ? asInt(key, node.get(key)) : dflt;
  }

  /** A number (an integer is read as a double, as Python's float() would). */
  public double getDouble(String key, double dflt) throws IOException {
    if (!has(key)) {
      return dflt;
    }
    JsonNode v = node.get(key);
    if (!v.isNumber()) {
      throw wrong(key, "a number", v);
    }
    return v.asDouble();
  }

  public boolean getBoolean(String key, boolean dflt) throws IOException {
    if (!has(key)) {
      return dflt;
    }
    JsonNode v = node.get(key);
    if (!v.isBoolean()) {
      throw wrong(key, "true or false", v);
    }
    return v.asBoolean();
  }

  public String getText(String key, String dflt) throws IOException {
    if (!has(key)) {
      return dflt;
    }
    JsonNode v = node.get(key);
    if (!v.isTextual()) {
      throw wrong(key, "a string", v);
    }
    return v.asText();
  }

  /** A list of integers, or null when absent. */
  public int[] getIntArray(String key) throws IOException {
    if (!has(key)) {
      return null;
    }
    JsonNode v = node.get(key);
    if (!v.isArray()) {
      throw wrong(key, "a list of integers", v);
    }
    int[] out = new int[v.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = asInt(key + "[" + i + "]", v.get(i));
    }
    return out;
  }

  private JsonNode require(String key) throws IOException {
    if (!has(key)) {
      throw new IOException(file + ": " + prefix + key + " is missing");
    }
    return node.get(key);
  }

  private long asLong(String key, JsonNode v) throws IOException {
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw wrong(key, "an integer", v);
    }
    return v.asLong();
  }

  private int asInt(String key, JsonNode v) throws IOException {
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw wrong(key, "an integer", v);
    }
    return v.asInt();
  }

  private IOException wrong(String key, String expected, JsonNode v) {
    return new IOException(file + ": " + prefix + key + " must be " + expected + ", got " + describe(v));
  }

  /** The value as written in JSON, shortened. */
  private static String describe(JsonNode v) {
    return Json.shortened(v, 60);
  }
}
