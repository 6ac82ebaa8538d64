// Python's string semantics where reward parity depends on them: str.isspace / strip, and re's \s, \d and '.'.
// Java's defaults differ (\s is ASCII-only, String.strip keeps U+00A0, '.' stops at \r and U+2028), so every reward
// pattern is compiled through here to match what VLM-R1's Python regexes match.
package org.vlmr1.util;

import java.util.regex.Pattern;

/** Python-compatible text helpers for the reward functions. */
public final class PyText {
  private PyText() {}

  /** Python's whitespace (str.isspace and re's \s on str): as a regex character-class body. */
  public static final String SPACE_CLASS =
      "\\t\\n\\x0B\\f\\r\\x1C-\\x1F \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

  /**
   * Compiles a pattern written in Python's syntax subset used by VLM-R1: {@code \s} and {@code \S} become Python's
   * whitespace classes, {@code \d} any Unicode decimal digit, and '.' excludes only '\n' (UNIX_LINES).
   */
  public static Pattern compile(String pythonRegex, boolean dotAll) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < pythonRegex.length(); i++) {
      char c = pythonRegex.charAt(i);
      if (c == '\\' && i + 1 < pythonRegex.length()) {
        char n = pythonRegex.charAt(++i);
        switch (n) {
          case 's': sb.append(insideClass(sb) ? SPACE_CLASS : "[" + SPACE_CLASS + "]"); break;
          case 'S': sb.append("[^" + SPACE_CLASS + "]"); break;
          case 'd': sb.append("\\p{Nd}"); break;
          default: sb.append('\\').append(n);
        }
      } else {
        sb.append(c);
      }
    }
    return Pattern.compile(sb.toString(), Pattern.UNIX_LINES | (dotAll ? Pattern.DOTALL : 0));
  }

  /** Whether the pattern text so far ends inside an unclosed character class. */
  private static boolean insideClass(StringBuilder sb) {
    boolean in = false;
    for (int i = 0; i < sb.length(); i++) {
      char c = sb.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == '[') {
        in = true;
      } else if (c == ']') {
        in = false;
      }
    }
    return in;
  }

  /** Python's str.isspace for one code point. */
  public static boolean isSpace(int cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
        || cp == 0x3000;
  }

  /** The first index at or after {@code i} that is not Python whitespace ({@code \s}), or the length. */
  public static int skipSpace(String s, int i) {
    while (i < s.length() && isSpace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  /** Python's str.strip(). */
  public static String strip(String s) {
    int b = 0;
    int e = s.length();
    while (b < e && isSpace(s.codePointAt(b))) {
      b += Character.charCount(s.codePointAt(b));
    }
    while (e > b && isSpace(s.codePointBefore(e))) {
      e -= Character.charCount(s.codePointBefore(e));
    }
    return s.substring(b, e);
  }

  /** Python's str.rstrip(chars). */
  public static String rstrip(String s, String chars) {
    int e = s.length();
    while (e > 0 && chars.indexOf(s.charAt(e - 1)) >= 0) {
      e--;
    }
    return s.substring(0, e);
  }

  private static final int CAPITAL_SIGMA = 0x3A3;

  /**
   * Python's str.lower(): Java's locale-independent full lower-casing, except for the capital sigma, which both turn
   * into the final form only in the Final_Sigma context, but which Java judges by word boundaries: "D:Σ!" and
   * "Aß.Σ<" end in ς in Python and σ in Java. Here Σ follows CPython's handle_capital_sigma instead.
   */
  public static String lower(String s) {
    if (s.indexOf(CAPITAL_SIGMA) < 0) {
      return s.toLowerCase(java.util.Locale.ROOT);
    }
    StringBuilder sb = new StringBuilder(s.length());
    int from = 0;
    for (int i = s.indexOf(CAPITAL_SIGMA); i >= 0; i = s.indexOf(CAPITAL_SIGMA, i + 1)) {
      sb.append(s.substring(from, i).toLowerCase(java.util.Locale.ROOT));
      sb.append(finalSigma(s, i) ? '\u03C2' : '\u03C3');
      from = i + 1;
    }
    return sb.append(s.substring(from).toLowerCase(java.util.Locale.ROOT)).toString();
  }

  /**
   * CPython's Final_Sigma test for the Σ at {@code i}: after a cased letter (case-ignorable characters between) and
   * not before one (the same).
   */
  private static boolean finalSigma(String s, int i) {
    int j = i;
    int c = -1;
    while (j > 0) {
      c = s.codePointBefore(j);
      j -= Character.charCount(c);
      if (!isCaseIgnorable(c)) {
        break;
      }
      c = -1;
    }
    if (c < 0 || !isCased(c)) {
      return false;
    }
    for (j = i + 1; j < s.length(); j += Character.charCount(c)) {
      c = s.codePointAt(j);
      if (!isCaseIgnorable(c)) {
        return !isCased(c);
      }
    }
    return true;
  }

  /** Unicode's Cased: Lowercase, Uppercase or titlecase letter (Java's predicates include Other_Lowercase/upper). */
  static boolean isCased(int cp) {
    return Character.isLowerCase(cp) || Character.isUpperCase(cp) || Character.isTitleCase(cp);
  }

  /** Unicode's Case_Ignorable: Word_Break MidLetter, MidNumLet or Single_Quote, or category Mn, Me, Cf, Lm, Sk. */
  static boolean isCaseIgnorable(int cp) {
    switch (cp) {
      case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4: case 0x2018: case 0x2019:
      case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
        return true;
      default:
        int t = Character.getType(cp);
        return t == Character.NON_SPACING_MARK || t == Character.ENCLOSING_MARK || t == Character.FORMAT
            || t == Character.MODIFIER_LETTER || t == Character.MODIFIER_SYMBOL;
    }
  }

  /** Decimal digits of any script as ASCII digits. */
  public static String asciiDigits(String digits) {
    StringBuilder sb = new StringBuilder(digits.length());
    digits.codePoints().forEach(cp -> sb.append((char) ('0' + Character.digit(cp, 10))));
    return sb.toString();
  }

  /** Python's int() of a string of decimal digits (any script), or -1 when it does not fit a long. */
  public static long parseDigits(String digits) {
    long v = 0;
    for (int i = 0; i < digits.length(); ) {
      int cp = digits.codePointAt(i);
      int d = Character.digit(cp, 10);
      if (d < 0 || v > (Long.MAX_VALUE - d) / 10) {
        return -1;
      }
      v = v * 10 + d;
      i += Character.charCount(cp);
    }
    return v;
  }
}
