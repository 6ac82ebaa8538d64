// Python json.loads semantics for the rewards: plain Java values (List, Map, Long/BigInteger/Double, String, Boolean,
// null), NaN and Infinity accepted, duplicate keys last-wins, anything else malformed is an IllegalArgumentException.
package org.vlmr1.util;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** JSON parsing as Python's {@code json.loads} does it. Thread-safe. */
public final class Json {
  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
      .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .disable(JsonParser.Feature.AUTO_CLOSE_SOURCE)
      .build();

  private Json() {}

  /** Parses one JSON value; Python's whitespace rules at the ends (space, \t, \n, \r). */
  public static Object parse(String text) {
    try {
      Object v = MAPPER.readValue(text, Object.class);
      return normalise(v);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) { // readValue(String) throws no other IOException
      throw new IllegalArgumentException("malformed JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** Small integers as Long, big ones stay BigInteger (Python ints are unbounded). */
  private static Object normalise(Object v) {
    if (v instanceof java.math.BigInteger b && b.bitLength() < 64) {
      return b.longValue();
    }
    if (v instanceof java.util.List<?> l) {
      java.util.List<Object> out = new java.util.ArrayList<>(l.size());
      for (Object o : l) {
        out.add(normalise(o));
      }
      return out;
    }
    if (v instanceof java.util.Map<?, ?> m) {
      java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
      for (java.util.Map.Entry<?, ?> e : m.entrySet()) {
        out.put(String.valueOf(e.getKey()), normalise(e.getValue()));
      }
      return out;
    }
    return v;
  }

  /**
   * A value for a one-line message: its text (JSON for a parsed JSON node), at most {@code max} characters; a hostile
   * file's value may be megabytes.
   */
  public static String shortened(Object value, int max) {
    String s = String.valueOf(value);
    return s.length() > max ? s.substring(0, max - 3) + "..." : s;
  }

  /** {@link #shortened(Object, int)} at 80 characters. */
  public static String shortened(Object value) {
    return shortened(value, 80);
  }

  /**
   * A parsed JSON object's entries whose value is not JSON null, immutable (Map.copyOf rejects null values): a key
   * holding null is Python's None, which no reward or loader reads. Null gives an empty map.
   */
  public static Map<String, Object> withoutNulls(Map<String, Object> object) {
    if (object == null) {
      return Map.of();
    }
    Map<String, Object> kept = new java.util.LinkedHashMap<>(object);
    kept.values().removeIf(java.util.Objects::isNull);
    return Map.copyOf(kept);
  }

  /** Serialises plain Java values (for the score command's output). */
  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot serialise " + value, e);
    }
  }

  /** The JSON object in {@code file}; an IOException naming the file when it is not valid JSON or not an object. */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> readObject(Path file) throws IOException {
    Object v;
    try {
      v = parse(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IllegalArgumentException | CharacterCodingException e) {
      throw new IOException(file + " is not valid JSON (" + e.getMessage() + ")", e);
    }
    if (!(v instanceof Map)) {
      throw new IOException(file + " does not hold a JSON object");
    }
    return (Map<String, Object>) v;
  }

  /** Writes {@code value} as JSON (one line) into {@code file}. */
  public static void writeFile(Path file, Object value) throws IOException {
    Files.writeString(file, write(value) + "\n", StandardCharsets.UTF_8);
  }
}
