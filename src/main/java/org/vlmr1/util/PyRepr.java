// Python's str() and repr() of what json.loads returns: the data loader's str() of non-string solutions and the
// rewards that compare values as f-strings render them (VLM-R1's repetition reward keys boxes by f"{bbox_2d}_{label}").
package org.vlmr1.util;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.List;
import java.util.Map;

/**
 * Renders {@link Json} values (null, Boolean, Long/BigInteger, Double, String, List, Map) as CPython 3 does.
 *
 * <p>Examples: {@code str(true)} is {@code True}, {@code str(null)} is {@code None}, {@code str(1.0)} is {@code 1.0},
 * {@code str(1e16)} is {@code 1e+16}, {@code str([1, "a", {"k": false}])} is {@code [1, 'a', {'k': False}]}.
 */
public final class PyRepr {
  private PyRepr() {}

  /** {@code str(value)}: a string as it is, anything else as {@link #repr}. */
  public static String str(Object value) {
    return value instanceof String s ? s : repr(value);
  }

  /** {@code repr(value)}. */
  public static String repr(Object value) {
    StringBuilder sb = new StringBuilder();
    append(sb, value);
    return sb.toString();
  }

  private static void append(StringBuilder sb, Object v) {
    if (v == null) {
      sb.append("None");
    } else if (v instanceof Boolean b) {
      sb.append(b ? "True" : "False");
    } else if (v instanceof Long || v instanceof Integer || v instanceof BigInteger) {
      sb.append(v);
    } else if (v instanceof Double || v instanceof Float) {
      sb.append(floatRepr(((Number) v).doubleValue()));
    } else if (v instanceof String s) {
      stringRepr(sb, s);
    } else if (v instanceof List<?> l) {
      sb.append('[');
      for (int i = 0; i < l.size(); i++) {
        if (i > 0) {
          sb.append(", ");
        }
        append(sb, l.get(i));
      }
      sb.append(']');
    } else if (v instanceof Map<?, ?> m) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) {
          sb.append(", ");
        }
        first = false;
        append(sb, e.getKey());
        sb.append(": ");
        append(sb, e.getValue());
      }
      sb.append('}');
    } else {
      throw new IllegalArgumentException("not a JSON value: " + v.getClass().getName());
    }
  }

  /**
   * {@code repr(float)}: the shortest digits that read back as the same double (the closest such when several),
   * positional for decimal exponents -4 to 15, else {@code d.ddde±XX}; positional values always show a fraction
   * ({@code 100.0}). Computed with BigDecimal because Java 17's Double.toString is not always shortest (fixed in 19).
   */
  static String floatRepr(double x) {
    if (Double.isNaN(x)) {
      return "nan";
    }
    if (Double.isInfinite(x)) {
      return x > 0 ? "inf" : "-inf";
    }
    if (x == 0) {
      return (1 / x < 0) ? "-0.0" : "0.0";
    }
    BigDecimal exact = new BigDecimal(x);
    BigDecimal best = null;
    for (int p = 1; p <= 17 && best == null; p++) {
      for (RoundingMode mode : new RoundingMode[] {RoundingMode.HALF_EVEN, RoundingMode.FLOOR, RoundingMode.CEILING}) {
        BigDecimal c = exact.round(new MathContext(p, mode));
        if (c.doubleValue() == x
            && (best == null || c.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
          best = c;
        }
      }
    }
    BigDecimal stripped = best.stripTrailingZeros();
    String digits = stripped.unscaledValue().abs().toString();
    // value = 0.d1d2...dn * 10^decpt
    int decpt = digits.length() - stripped.scale();
    StringBuilder sb = new StringBuilder(x < 0 ? "-" : "");
    if (decpt <= -4 || decpt > 16) {
      sb.append(digits.charAt(0));
      if (digits.length() > 1) {
        sb.append('.').append(digits, 1, digits.length());
      }
      int exp = decpt - 1;
      sb.append('e').append(exp < 0 ? '-' : '+');
      sb.append(Math.abs(exp) < 10 ? "0" : "").append(Math.abs(exp));
    } else if (decpt <= 0) {
      sb.append("0.").append("0".repeat(-decpt)).append(digits);
    } else if (decpt < digits.length()) {
      sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
    } else {
      sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
    }
    return sb.toString();
  }

  /** {@code repr(str)}: single quotes unless the text has ' and no ", escapes for what is not printable. */
  private static void stringRepr(StringBuilder sb, String s) {
    char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    sb.append(quote);
    s.codePoints().forEach(cp -> {
      if (cp == quote || cp == '\\') {
        sb.append('\\').appendCodePoint(cp);
      } else if (cp == '\t') {
        sb.append("\\t");
      } else if (cp == '\n') {
        sb.append("\\n");
      } else if (cp == '\r') {
        sb.append("\\r");
      } else if (isPrintable(cp)) {
        sb.appendCodePoint(cp);
      } else if (cp < 0x100) {
        sb.append(String.format("\\x%02x", cp));
      } else if (cp < 0x10000) {
        sb.append(String.format("\\u%04x", cp));
      } else {
        sb.append(String.format("\\U%08x", cp));
      }
    });
    sb.append(quote);
  }

  /** str.isprintable for one character: not in Cc, Cf, Cs, Co, Cn, Zl, Zp, nor Zs other than the space. */
  static boolean isPrintable(int cp) {
    if (cp == ' ') {
      return true;
    }
    switch (Character.getType(cp)) {
      case Character.CONTROL:
      case Character.FORMAT:
      case Character.SURROGATE:
      case Character.PRIVATE_USE:
      case Character.UNASSIGNED:
      case Character.LINE_SEPARATOR:
      case Character.PARAGRAPH_SEPARATOR:
      case Character.SPACE_SEPARATOR:
        return false;
      default:
        return true;
    }
  }
}
