// Python's float(str): what VLM-R1's numeric_reward accepts as a number.
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import java.util.regex.Pattern;

/** Parses numbers exactly where Python's {@code float()} would. */
public final class PyFloat {
  // digits with single underscores between them (PEP 515), any Unicode decimal digit
  private static final String DIGITS = "\\p{Nd}(?:_?\\p{Nd})*";
  private static final Pattern NUMBER = Pattern.compile(
      "[+-]?(?:(?:" + DIGITS + ")(?:\\.(?:" + DIGITS + ")?)?|\\.(?:" + DIGITS + "))(?:[eE][+-]?(?:" + DIGITS + "))?");
  private static final Pattern SPECIAL = Pattern.compile("[+-]?(?i:inf|infinity|nan)");

  private PyFloat() {}

  /** The value of {@code float(s)}, or null where Python raises ValueError. */
  public static Double parse(String s) {
    String t = PyText.strip(s);
    if (SPECIAL.matcher(t).matches()) {
      boolean neg = t.startsWith("-");
      String body = t.replaceFirst("^[+-]", "").toLowerCase(java.util.Locale.ROOT);
      if (body.equals("nan")) {
        return Double.NaN;
      }
      return neg ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    if (!NUMBER.matcher(t).matches()) {
      return null;
    }
    StringBuilder ascii = new StringBuilder(t.length());
    t.codePoints().forEach(cp -> {
      if (cp == '_') {
        return;
      }
      int d = Character.digit(cp, 10);
      ascii.append(d >= 0 && Character.isDigit(cp) ? (char) ('0' + d) : (char) cp);
    });
    return Double.parseDouble(ascii.toString());
  }
}
