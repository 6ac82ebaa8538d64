// A tolerant JSON reader for model outputs cut off mid-way, standing in for the json_repair package that VLM-R1's
// repetition reward uses: it closes what a truncation left open instead of failing.
package org.vlmr1.reward;

import org.vlmr1.util.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Lenient JSON: unterminated strings, arrays and objects are closed at the end of input; a key without a value gets
 * null; trailing and doubled commas are skipped; single-quoted strings, unquoted keys and Python's True / False / None
 * are accepted. Text before the first '[' or '{' is skipped. Not json_repair bit for bit: it repairs truncation and
 * the common slips, not every malformation json_repair guesses at.
 *
 * <p>Example: {@code [{"bbox_2d": [1, 2, 3, 4], "label": "ca} } parses as
 * {@code [{"bbox_2d": [1, 2, 3, 4], "label": "ca"}]}.
 */
public final class JsonRepair {
  /**
   * The deepest nesting read, as Jackson's default limit: each level is a Java frame, and a completion of 10^5 '['
   * overflowed the stack (StackOverflowError in the repetition reward). Deeper input ends the reading there, as a
   * truncation would.
   */
  static final int MAX_DEPTH = 1000;

  private final String s;
  private int i;
  private int depth;

  private JsonRepair(String s) {
    this.s = s;
  }

  /** The repaired value, or null when the text holds no JSON container at all. */
  public static Object parse(String text) {
    int start = -1;
    for (int k = 0; k < text.length(); k++) {
      char c = text.charAt(k);
      if (c == '[' || c == '{') {
        start = k;
        break;
      }
    }
    if (start < 0) {
      return null;
    }
    JsonRepair r = new JsonRepair(text);
    r.i = start;
    return r.value();
  }

  private void ws() {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
  }

  /** Whitespace and stray (trailing or doubled) commas before the next member. */
  private void skipSeparators() {
    ws();
    while (i < s.length() && s.charAt(i) == ',') {
      i++;
      ws();
    }
  }

  private Object value() {
    ws();
    if (i >= s.length()) {
      return null;
    }
    char c = s.charAt(i);
    if ((c == '{' || c == '[') && depth >= MAX_DEPTH) {
      i = s.length(); // too deep to read: the containers so far close here, as at a truncation
      return null;
    }
    if (c == '{' || c == '[') {
      depth++;
      try {
        return c == '{' ? object() : array();
      } finally {
        depth--;
      }
    }
    if (c == '"' || c == '\'') {
      return string();
    }
    return literal();
  }

  private Map<String, Object> object() {
    Map<String, Object> m = new LinkedHashMap<>();
    i++; // {
    while (true) {
      skipSeparators();
      if (i >= s.length()) {
        return m;
      }
      if (s.charAt(i) == '}') {
        i++;
        return m;
      }
      if (s.charAt(i) == ']') { // a mismatched closer: treat as the end of this object
        return m;
      }
      String key = s.charAt(i) == '"' || s.charAt(i) == '\'' ? string() : bareWord();
      ws();
      Object v = null;
      if (i < s.length() && s.charAt(i) == ':') {
        i++;
        ws();
        if (i < s.length() && s.charAt(i) != ',' && s.charAt(i) != '}') {
          v = value();
        }
      }
      m.put(key, v);
      ws();
      if (i < s.length() && s.charAt(i) == ',') {
        i++;
      }
    }
  }

  private List<Object> array() {
    List<Object> l = new ArrayList<>();
    i++; // [
    while (true) {
      skipSeparators();
      if (i >= s.length()) {
        return l;
      }
      char c = s.charAt(i);
      if (c == ']') {
        i++;
        return l;
      }
      if (c == '}') { // a mismatched closer
        i++;
        continue;
      }
      int before = i;
      l.add(value());
      if (i == before) {
        i++; // an unparseable character: skip it rather than loop
      }
      ws();
      if (i < s.length() && s.charAt(i) == ',') {
        i++;
      }
    }
  }

  private String string() {
    char quote = s.charAt(i++);
    StringBuilder sb = new StringBuilder();
    while (i < s.length()) {
      char c = s.charAt(i++);
      if (c == quote) {
        return sb.toString();
      }
      if (c == '\\' && i < s.length()) {
        char e = s.charAt(i++);
        switch (e) {
          case 'n': sb.append('\n'); break;
          case 't': sb.append('\t'); break;
          case 'r': sb.append('\r'); break;
          case 'b': sb.append('\b'); break;
          case 'f': sb.append('\f'); break;
          case 'u':
            if (i + 4 <= s.length()) {
              try {
                sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                i += 4;
                break;
              } catch (NumberFormatException ignored) {
                // keep the text as written
              }
            }
            sb.append("\\u");
            break;
          default: sb.append(e);
        }
      } else {
        sb.append(c);
      }
    }
    return sb.toString(); // unterminated: closed at the end of input
  }

  private String bareWord() {
    int b = i;
    while (i < s.length() && ":,}]".indexOf(s.charAt(i)) < 0 && !Character.isWhitespace(s.charAt(i))) {
      i++;
    }
    return s.substring(b, i);
  }

  private Object literal() {
    String w = bareWord();
    switch (w) {
      case "true": case "True": return Boolean.TRUE;
      case "false": case "False": return Boolean.FALSE;
      case "null": case "None": case "": return null;
      default:
        try {
          Object n = Json.parse(w);
          return n instanceof Number ? n : w;
        } catch (IllegalArgumentException e) {
          // a truncated number such as "12." or "-": keep its digits
          String digits = w.replaceAll("[^0-9.eE+-]", "").replaceAll("[.eE+-]+$", "");
          try {
            return digits.isEmpty() ? w : Json.parse(digits);
          } catch (IllegalArgumentException e2) {
            return w;
          }
        }
    }
  }
}
