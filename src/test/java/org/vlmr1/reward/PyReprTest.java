// PyRepr against values Python 3 prints, and, on fresh random doubles (seed printed), the two properties that define
// repr(float): it reads back as the same double, and no shorter decimal does.
package org.vlmr1.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PyReprTest {

  @Test
  void floatsAsPythonPrintsThem() {
    // python3 -c 'print(repr(x))' for each
    Object[][] cases = {
        {1.0, "1.0"}, {0.0, "0.0"}, {-0.0, "-0.0"}, {0.1, "0.1"}, {2.0 / 3, "0.6666666666666666"},
        {6.0 / 7, "0.8571428571428571"}, {1e-4, "0.0001"}, {1e-5, "1e-05"}, {1.5e-7, "1.5e-07"}, {100.0, "100.0"},
        {1e15, "1000000000000000.0"}, {1e16, "1e+16"}, {1.5e16, "1.5e+16"}, {123456789012345680.0,
        "1.2345678901234568e+17"}, {5e-324, "5e-324"}, {Double.MAX_VALUE, "1.7976931348623157e+308"},
        {-2.5, "-2.5"}, {1e22, "1e+22"}, {1e23, "1e+23"}, {Double.NaN, "nan"}, {Double.NEGATIVE_INFINITY, "-inf"},
        {0.3, "0.3"}, {0.1 + 0.2, "0.30000000000000004"}, {12345.678, "12345.678"}};
    for (Object[] c : cases) {
      assertEquals(c[1], PyRepr.ofFloat((Double) c[0]), "repr(" + c[0] + ")");
    }
  }

  @Test
  void randomDoublesAreShortestAndRoundTrip() {
    String fixed = System.getProperty("vlmr1.test.seed");
    long seed = fixed != null ? Long.parseLong(fixed) : System.nanoTime() & 0xffffffffL;
    System.out.println("PyReprTest: seed " + seed + " (replay with -Dvlmr1.test.seed=" + seed + ")");
    Random rnd = new Random(seed);
    for (int i = 0; i < 20000; i++) {
      // every bit pattern half the time; else values of the sizes rewards and metrics have
      double d = i % 2 == 0 ? Double.longBitsToDouble(rnd.nextLong())
          : rnd.nextDouble() * Math.pow(10, rnd.nextInt(40) - 20);
      if (!Double.isFinite(d) || d == 0) {
        continue;
      }
      String r = PyRepr.ofFloat(d);
      assertEquals(d, Double.parseDouble(r), r);
      String mantissa = r.replaceFirst("^-", "").replaceFirst("e.*$", "").replace(".", "")
          .replaceFirst("^0+", "").replaceFirst("0+$", "");
      int digits = Math.max(1, mantissa.length());
      if (digits > 1) {
        BigDecimal shorter = new BigDecimal(d).round(new MathContext(digits - 1, RoundingMode.HALF_EVEN));
        assertTrue(shorter.doubleValue() != d, d + ": " + shorter + " is shorter than " + r);
      }
      boolean exponent = r.contains("e");
      double mag = Math.abs(d);
      assertEquals(mag < 1e-4 || mag >= 1e16, exponent, r);
    }
  }

  @Test
  void stringsAndListsAsPythonPrintsThem() {
    assertEquals("'a.jpg'", PyRepr.ofStr("a.jpg"));
    assertEquals("\"it's.png\"", PyRepr.ofStr("it's.png"));
    assertEquals("'say \"hi\"'", PyRepr.ofStr("say \"hi\""));
    assertEquals("'it\\'s \"x\"'", PyRepr.ofStr("it's \"x\""));
    assertEquals("'a\\\\b\\n\\t\\r'", PyRepr.ofStr("a\\b\n\t\r"));
    assertEquals("'\\x00\\x1f\\x7f\\xa0\\xad'", PyRepr.ofStr("\u0000\u001f\u007f\u00a0\u00ad"));
    assertEquals("'café 图片 \\u200b\\u2028 \uD83D\uDE00'", PyRepr.ofStr("café 图片 \u200b\u2028 \uD83D\uDE00"));
    assertEquals("['/d/a.jpg', \"/d/it's.png\"]", PyRepr.ofStrList(List.of("/d/a.jpg", "/d/it's.png")));
    assertEquals("[]", PyRepr.ofStrList(List.of()));
    assertEquals("None", PyRepr.ofStrList(null));
  }
}
