// Python's repr() of floats, strings and lists of strings, for text that must read as VLM-R1's Python writes it
// (the DEBUG_MODE reward logs format values with f-strings).
package org.vlmr1.reward;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.List;

/**
 * Python 3's {@code repr}. Examples: {@code 2/3} gives {@code 0.6666666666666666}, {@code 1e-5} gives {@code 1e-05},
 * {@code "it's"} gives {@code "it's"} (double quotes), a list of two paths gives {@code ['a.jpg', 'b.jpg']}.
 */
public final class PyRepr {
  private PyRepr() {}

  /**
   * {@code repr(float)}: the shortest decimal that reads back as the same double, in fixed notation when its decimal
   * exponent is in [-4, 16), else as {@code d.ddde+XX} (Java's Double.toString differs: 1.0E-5, and before JDK 19
   * not always the shortest digits).
   */
  public static String ofFloat(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    if (d == 0) {
      return 1 / d < 0 ? "-0.0" : "0.0";
    }
    BigDecimal exact = new BigDecimal(d);
    BigDecimal shortest = exact;
    for (int p = 1; p <= 17; p++) {
      // The nearest p-digit decimal reads back as d whenever any p-digit decimal does.
      BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
      if (r.doubleValue() == d) {
        shortest = r;
        break;
      }
    }
    shortest = shortest.stripTrailingZeros();
    String digits = shortest.unscaledValue().abs().toString();
    int decpt = digits.length() - shortest.scale(); // value = 0.digits * 10^decpt
    StringBuilder sb = new StringBuilder(d < 0 ? "-" : "");
    if (decpt > -4 && decpt <= 16) {
      if (decpt <= 0) {
        sb.append("0.").append("0".repeat(-decpt)).append(digits);
      } else if (decpt >= digits.length()) {
        sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
      } else {
        sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
      }
    } else {
      int e = decpt - 1;
      sb.append(digits.charAt(0));
      if (digits.length() > 1) {
        sb.append('.').append(digits, 1, digits.length());
      }
      sb.append('e').append(e < 0 ? '-' : '+').append(Math.abs(e) < 10 ? "0" : "").append(Math.abs(e));
    }
    return sb.toString();
  }

  /**
   * {@code repr(str)}: single quotes unless the text has a single quote and no double quote; backslash escapes for
   * the quote, the backslash, tab, newline and carriage return, and hex escapes (x, u, U) for what Python does not
   * print (controls, format characters, separators other than the space, surrogates, private use, unassigned).
   */
  public static String ofStr(String s) {
    char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder sb = new StringBuilder(s.length() + 2).append(q);
    s.codePoints().forEach(cp -> {
      if (cp == q || cp == '\\') {
        sb.append('\\').appendCodePoint(cp);
      } else if (cp == '\t') {
        sb.append("\\t");
      } else if (cp == '\n') {
        sb.append("\\n");
      } else if (cp == '\r') {
        sb.append("\\r");
      } else if (printable(cp)) {
        sb.appendCodePoint(cp);
      } else if (cp <= 0xff) {
        sb.append(String.format("\\x%02x", cp));
      } else if (cp <= 0xffff) {
        sb.append(String.format("\\u%04x", cp));
      } else {
        sb.append(String.format("\\U%08x", cp));
      }
    });
    return sb.append(q).toString();
  }

  /** {@code repr(list_of_str)}; null gives {@code None}. */
  public static String ofStrList(List<String> items) {
    if (items == null) {
      return "None";
    }
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < items.size(); i++) {
      sb.append(i > 0 ? ", " : "").append(ofStr(items.get(i)));
    }
    return sb.append(']').toString();
  }

  /** Python's str.isprintable for one code point. */
  private static boolean printable(int cp) {
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
