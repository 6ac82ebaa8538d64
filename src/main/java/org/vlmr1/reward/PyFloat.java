// Python's float(str): what VLM-R1's numeric_reward accepts as a number.
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import java.util.regex.Pattern;

/** Parses numbers exactly where Python's {@code float()} would. */
public final class PyFloat {
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
    if (!isLiteral(t)) {
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

  /**
   * Whether {@code t} is float()'s literal: sign? (D ('.' D?)? | '.' D) ([eE] sign? D)?, D being digits with single
   * underscores between them (PEP 515), any Unicode decimal digit. Scanned by hand: as a regex, D's group per digit
   * recursed once per character and a 5,000-digit answer overflowed the stack (StackOverflowError in score and train).
   */
  static boolean isLiteral(String t) {
    int n = t.length();
    int i = sign(t, 0);
    int j = digits(t, i);
    if (j > i) {
      if (j < n && t.charAt(j) == '.') {
        j = digits(t, j + 1); // the fraction is optional: "1." is a float
      }
    } else if (i < n && t.charAt(i) == '.') {
      j = digits(t, i + 1);
      if (j == i + 1) {
        return false; // "." alone
      }
    } else {
      return false;
    }
    if (j < n && (t.charAt(j) == 'e' || t.charAt(j) == 'E')) {
      int k = sign(t, j + 1);
      j = digits(t, k);
      if (j == k) {
        return false;
      }
    }
    return j == n;
  }

  private static int sign(String t, int i) {
    return i < t.length() && (t.charAt(i) == '+' || t.charAt(i) == '-') ? i + 1 : i;
  }

  /** The end of the digit run D at {@code i} (digits, each after at most one underscore), or {@code i} if none. */
  private static int digits(String t, int i) {
    if (!digitAt(t, i)) {
      return i;
    }
    int j = i + Character.charCount(t.codePointAt(i));
    while (true) {
      if (digitAt(t, j)) {
        j += Character.charCount(t.codePointAt(j));
      } else if (j < t.length() && t.charAt(j) == '_' && digitAt(t, j + 1)) {
        j += 1 + Character.charCount(t.codePointAt(j + 1));
      } else {
        return j;
      }
    }
  }

  private static boolean digitAt(String t, int i) {
    return i < t.length() && Character.getType(t.codePointAt(i)) == Character.DECIMAL_DIGIT_NUMBER;
  }
}
