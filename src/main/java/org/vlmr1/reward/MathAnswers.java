// The math answer checks of VLM-R1 (utils/math.py compute_score) and our stand-in for math_verify, which Java lacks.
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Math answer equivalence.
 *
 * <p>{@link #verify} stands in for {@code math_verify.verify(parse(a), parse(b))}: both sides are reduced to their
 * last {@code \boxed{...}} (or {@code $...$}, {@code \(...\)}, {@code \[...\]}) content, normalised with the
 * Hendrycks {@code strip_string} rules plus {@code \text{}}/{@code \mathrm{}} unwrapping, then compared as exact
 * numbers (integers, decimals, scientific notation, thousands separators, {@code \frac}, {@code a/b}, signs, a
 * trailing {@code %} or degree sign; equal when they agree to 6 decimal places, math_verify's float rounding), as
 * ordered tuples of such numbers, or as identical normalised text; in prose without LaTeX math the number after the
 * last "answer is" (else the last number) is the answer, as math_verify's anchor-less extraction finds it. What
 * math_verify accepts that this does not:
 * symbolic algebra (x+1 = 1+x, expanded vs factored forms), irrational closed forms ({@code \sqrt{2}} vs 1.414214,
 * {@code \pi}), unordered sets, intervals, matrices, equations and inequalities rearranged, unit conversions, and
 * expressions other than numbers inside prose ("so x is y+1").
 */
public final class MathAnswers {
  private MathAnswers() {}

  private static final Pattern THOUSANDS = Pattern.compile("^[+-]?\\d{1,3}(,\\d{3})+(\\.\\d+)?$");
  private static final Pattern DECIMAL = Pattern.compile("^[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?$");
  private static final Pattern FRAC = Pattern.compile("^([+-]?)\\\\frac\\{([^{}]+)\\}\\{([^{}]+)\\}$");
  private static final Pattern SLASH = Pattern.compile("^([+-]?[^/]+)/([^/]+)$");
  private static final Pattern TEXT_WRAP = Pattern.compile("\\\\(?:text|mathrm|textbf|mbox)\\{([^{}]*)\\}");

  /** VLM-R1's compute_score: exact match, then {@link #verify}, then the last boxed answer under is_equiv. */
  public static double computeScore(String solution, String groundTruth) {
    if (solution.equals(groundTruth)) {
      return 1.0;
    }
    if (verify(solution, groundTruth)) {
      return 1.0;
    }
    String answer = solution;
    String boxed = lastBoxedOnlyString(solution);
    if (boxed != null) {
      answer = removeBoxed(boxed);
      if (answer == null) {
        return 0.0; // remove_boxed's assertion failed: VLM-R1 catches it and scores 0
      }
    }
    return isEquiv(answer, groundTruth) ? 1.0 : 0.0;
  }

  /** Our math_verify stand-in (see the class Javadoc for what it does not cover). */
  public static boolean verify(String a, String b) {
    String x = normalise(extract(a));
    String y = normalise(extract(b));
    if (x.isEmpty() || y.isEmpty()) {
      return false;
    }
    List<BigDecimal> nx = numbersOrProseNumber(a, x);
    List<BigDecimal> ny = numbersOrProseNumber(b, y);
    if (nx != null && ny != null) {
      if (nx.size() != ny.size()) {
        return false;
      }
      for (int i = 0; i < nx.size(); i++) {
        // rounded to 34 digits: the exact difference of 1e999999999 and 0.5 needed a 10^9-digit BigInteger ("would
        // overflow supported range"; 1e100000000 took minutes); a rounded one aligns only what the precision keeps
        if (nx.get(i).subtract(ny.get(i), MathContext.DECIMAL128).abs().compareTo(new BigDecimal("0.0000005")) > 0) {
          return false;
        }
      }
      return true;
    }
    return x.equals(y);
  }

  private static final Pattern PROSE_NUMBER =
      Pattern.compile("(?<![\\w.])-?\\d[\\d,]*(?:\\.\\d+)?(?:/\\d+)?%?(?![\\w])");
  private static final Pattern ANSWER_ANCHOR = Pattern.compile("(?i)(?:final answer|answer)\\s*(?:is|:)");

  /**
   * The numbers of the normalised answer; for prose without LaTeX math (math_verify's anchor-less expression
   * extraction), the number after the last "answer is" / "answer:", else the last number in the text.
   */
  private static List<BigDecimal> numbersOrProseNumber(String raw, String normalised) {
    List<BigDecimal> n = numbers(normalised);
    if (n != null || raw.contains("\\") || raw.contains("$")) {
      return n;
    }
    Matcher anchor = ANSWER_ANCHOR.matcher(raw);
    int from = 0;
    while (anchor.find()) {
      from = anchor.end();
    }
    Matcher m = PROSE_NUMBER.matcher(raw);
    String found = null;
    if (from > 0 && m.find(from)) {
      found = m.group();
    } else {
      m = PROSE_NUMBER.matcher(raw);
      while (m.find()) {
        found = m.group();
      }
    }
    if (found == null) {
      return null;
    }
    BigDecimal v = number(found);
    return v == null ? null : List.of(v);
  }

  /** The last boxed / delimited math of a text, or the text itself. */
  static String extract(String text) {
    String boxed = lastBoxedOnlyString(text);
    if (boxed != null) {
      String inner = removeBoxed(boxed);
      if (inner != null) {
        return inner;
      }
    }
    for (String[] d : new String[][] {{"\\[", "\\]"}, {"\\(", "\\)"}, {"$$", "$$"}, {"$", "$"}}) {
      int end = text.lastIndexOf(d[1]);
      if (end > 0) {
        int start = text.lastIndexOf(d[0], end - 1);
        if (start >= 0 && start + d[0].length() <= end) {
          return text.substring(start + d[0].length(), end);
        }
      }
    }
    return text;
  }

  private static String normalise(String s) {
    String t = PyText.strip(s);
    Matcher m = TEXT_WRAP.matcher(t);
    while (m.find()) {
      t = m.replaceAll("$1");
      m = TEXT_WRAP.matcher(t);
    }
    t = t.replace("^\\circ", "").replace("^{\\circ}", "").replace("°", "");
    String stripped = stripString(t);
    t = stripped != null ? stripped : t.replace(" ", "");
    t = PyText.rstrip(t, ".");
    return t;
  }

  /** The numbers of a normalised answer: one, or a comma-separated tuple; null when any part is not a number. */
  private static List<BigDecimal> numbers(String s) {
    String body = s;
    if ((body.startsWith("(") && body.endsWith(")")) || (body.startsWith("[") && body.endsWith("]"))) {
      body = body.substring(1, body.length() - 1);
    }
    List<BigDecimal> out = new ArrayList<>();
    BigDecimal single = number(body);
    if (single != null) {
      out.add(single);
      return out;
    }
    for (String part : body.split(",", -1)) {
      BigDecimal v = number(part);
      if (v == null) {
        return null;
      }
      out.add(v);
    }
    return out.size() > 1 ? out : null;
  }

  private static BigDecimal number(String s) {
    String t = s;
    boolean percent = false;
    if (t.endsWith("%")) {
      t = t.substring(0, t.length() - 1);
      percent = true;
    }
    if (t.isEmpty()) {
      return null;
    }
    BigDecimal v = null;
    if (THOUSANDS.matcher(t).matches() || DECIMAL.matcher(t).matches()) {
      try {
        v = new BigDecimal(t.replace(",", ""));
      } catch (NumberFormatException e) {
        return null; // an exponent beyond BigDecimal's int scale ("1e" and 10^5 nines): compared as text
      }
    } else {
      Matcher f = FRAC.matcher(t);
      Matcher sl = SLASH.matcher(t);
      String num = null;
      String den = null;
      String sign = "";
      if (f.matches()) {
        sign = f.group(1);
        num = f.group(2);
        den = f.group(3);
      } else if (sl.matches()) {
        num = sl.group(1);
        den = sl.group(2);
      }
      if (num != null) {
        BigDecimal n = number(num);
        BigDecimal d = number(den);
        if (n == null || d == null || d.signum() == 0) {
          return null;
        }
        v = n.divide(d, MathContext.DECIMAL64);
        if (sign.equals("-")) {
          v = v.negate();
        }
      }
    }
    if (v == null) {
      return null;
    }
    return percent ? v.divide(BigDecimal.valueOf(100), MathContext.DECIMAL64) : v;
  }

  // ---------------------------------------------------------------- Hendrycks MATH normalisation (utils/math.py)

  /** last_boxed_only_string: the last \boxed{...} / \fbox{...} with balanced braces, or "\boxed " up to '$'. */
  static String lastBoxedOnlyString(String string) {
    int idx = string.lastIndexOf("\\boxed");
    if (string.contains("\\boxed ")) {
      String[] parts = string.split(Pattern.quote("\\boxed "), -1);
      return "\\boxed " + parts[parts.length - 1].split(Pattern.quote("$"), -1)[0];
    }
    if (idx < 0) {
      idx = string.lastIndexOf("\\fbox");
      if (idx < 0) {
        return null;
      }
    }
    int open = 0;
    for (int i = idx; i < string.length(); i++) {
      char c = string.charAt(i);
      if (c == '{') {
        open++;
      }
      if (c == '}') {
        open--;
        if (open == 0) {
          return string.substring(idx, i + 1);
        }
      }
    }
    return null;
  }

  /** remove_boxed; null where its assertions fail (an \fbox, or no closing brace). */
  static String removeBoxed(String s) {
    if (s.contains("\\boxed ")) {
      return s.startsWith("\\boxed ") ? s.substring("\\boxed ".length()) : null;
    }
    String left = "\\boxed{";
    if (!s.startsWith(left) || !s.endsWith("}")) {
      return null;
    }
    return s.substring(left.length(), s.length() - 1);
  }

  /** is_equiv: strip_string of both equal; where strip_string raises, plain equality. */
  static boolean isEquiv(String a, String b) {
    String x = stripString(a);
    String y = stripString(b);
    if (x == null || y == null) {
      return a.equals(b);
    }
    return x.equals(y);
  }

  /** strip_string, or null where Python raises (the caller falls back to plain equality). */
  static String stripString(String input) {
    String s = input.replace("\n", "");
    s = s.replace("\\!", "");
    s = s.replace("\\\\", "\\");
    s = s.replace("tfrac", "frac");
    s = s.replace("dfrac", "frac");
    s = s.replace("\\left", "");
    s = s.replace("\\right", "");
    s = s.replace("^{\\circ}", "");
    s = s.replace("^\\circ", "");
    s = s.replace("\\$", "");
    if (s.contains("\\text{ ")) {
      String[] splits = s.split(Pattern.quote("\\text{ "), -1);
      if (splits.length != 2) {
        return null; // assert len(splits) == 2
      }
      s = splits[0];
    }
    s = s.replace("\\%", "");
    s = s.replace(" .", " 0.");
    s = s.replace("{.", "{0.");
    if (s.isEmpty()) {
      return s;
    }
    if (s.charAt(0) == '.') {
      s = "0" + s;
    }
    String[] eq = s.split("=", -1);
    if (eq.length == 2 && eq[0].codePointCount(0, eq[0].length()) <= 2) {
      s = eq[1];
    }
    s = fixSqrt(s);
    if (s == null) {
      return null;
    }
    s = s.replace(" ", "");
    s = fixFracs(s);
    if (s == null) {
      return null;
    }
    if (s.equals("0.5")) {
      s = "\\frac{1}{2}";
    }
    return fixASlashB(s);
  }

  private static String fixSqrt(String s) {
    if (!s.contains("\\sqrt")) {
      return s;
    }
    String[] splits = s.split(Pattern.quote("\\sqrt"), -1);
    StringBuilder out = new StringBuilder(splits[0]);
    for (int i = 1; i < splits.length; i++) {
      String split = splits[i];
      if (split.isEmpty()) {
        return null; // split[0] raises IndexError
      }
      if (split.charAt(0) != '{') {
        out.append("\\sqrt{").append(split.charAt(0)).append('}').append(split.substring(1));
      } else {
        out.append("\\sqrt").append(split);
      }
    }
    return out.toString();
  }

  private static String fixFracs(String string) {
    String[] substrs = string.split(Pattern.quote("\\frac"), -1);
    StringBuilder out = new StringBuilder(substrs[0]);
    for (int i = 1; i < substrs.length; i++) {
      String sub = substrs[i];
      out.append("\\frac");
      if (sub.isEmpty()) {
        return null; // substr[0] raises IndexError
      }
      if (sub.charAt(0) == '{') {
        out.append(sub);
        continue;
      }
      if (sub.length() < 2) {
        return string; // the assertion's early return of the input
      }
      char a = sub.charAt(0);
      char b = sub.charAt(1);
      if (b != '{') {
        out.append('{').append(a).append("}{").append(b).append('}').append(sub.substring(2));
      } else {
        out.append('{').append(a).append('}').append(b).append(sub.substring(2));
      }
    }
    return out.toString();
  }

  /** fix_a_slash_b: "a/b" with canonical integers becomes \frac{a}{b}; a non-integer part raises (null). */
  private static String fixASlashB(String s) {
    String[] parts = s.split("/", -1);
    if (parts.length != 2) {
      return s;
    }
    BigInteger a = pyInt(parts[0]);
    BigInteger b = pyInt(parts[1]);
    if (a == null || b == null) {
      return null; // int() raises ValueError, which is_equiv catches
    }
    if (!s.equals(a + "/" + b)) {
      return s;
    }
    return "\\frac{" + a + "}{" + b + "}";
  }

  /** Python int(str) for base 10, or null. */
  private static BigInteger pyInt(String s) {
    String t = PyText.strip(s);
    if (!t.matches("[+-]?\\p{Nd}(_?\\p{Nd})*")) {
      return null;
    }
    StringBuilder ascii = new StringBuilder();
    t.codePoints().forEach(cp -> {
      if (cp != '_') {
        ascii.append(cp == '+' || cp == '-' ? (char) cp : (char) ('0' + Character.digit(cp, 10)));
      }
    });
    return new BigInteger(ascii.toString());
  }
}
