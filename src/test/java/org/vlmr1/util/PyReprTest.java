// PyRepr against CPython 3.11: a table of json.loads values whose repr() was recorded from CPython, and random
// doubles that must read back exactly in no more digits than Java's own Double.toString uses.
package org.vlmr1.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class PyReprTest {
  // {JSON text, repr(json.loads(text)) printed by CPython 3.11}
  private static final String[][] CPYTHON = {
      {"1.0", "1.0"},
      {"100.0", "100.0"},
      {"0.1", "0.1"},
      {"1e16", "1e+16"},
      {"1E15", "1000000000000000.0"},
      {"123456789012345678.0", "1.2345678901234568e+17"},
      {"0.0001", "0.0001"},
      {"0.00001", "1e-05"},
      {"1.5e-7", "1.5e-07"},
      {"-0.0", "-0.0"},
      {"2.50", "2.5"},
      {"5e-324", "5e-324"},
      {"1.7976931348623157e308", "1.7976931348623157e+308"},
      {"1e400", "inf"},
      {"-1e400", "-inf"},
      {"NaN", "nan"},
      {"9007199254740993.0", "9007199254740992.0"},
      {"1e22", "1e+22"},
      {"1e23", "1e+23"},
      {"0.3", "0.3"},
      {"123.456", "123.456"},
      {"-1e-5", "-1e-05"},
      {"4.35", "4.35"},
      {"1e100", "1e+100"},
      {"0", "0"},
      {"-0", "0"},
      {"12345678901234567890123", "12345678901234567890123"},
      {"true", "True"},
      {"false", "False"},
      {"null", "None"},
      {"\"a\"", "'a'"},
      {"\"it's\"", "\"it's\""},
      {"\"say \\\"hi\\\"\"", "'say \"hi\"'"},
      {"\"both ' and \\\"\"", "'both \\' and \"'"},
      {"\"tab\\there\"", "'tab\\there'"},
      {"\"nl\\n\"", "'nl\\n'"},
      {"\"back\\\\slash\"", "'back\\\\slash'"},
      {"\"\\u007f\\u0000\"", "'\\x7f\\x00'"},
      {"\"\\u00e9\\u4e2d\\ud83d\\ude00\"", "'\u00e9\u4e2d\ud83d\ude00'"},
      {"\"\\u200b\"", "'\\u200b'"},
      {"\"\\u2028\"", "'\\u2028'"},
      {"\"\\ue000\"", "'\\ue000'"},
      {"\"\\u00a0\"", "'\\xa0'"},
      {"\"\\udb40\\udc01\"", "'\\U000e0001'"},
      {"\"\\ud800\"", "'\\ud800'"},
      {"[1, \"a\", {\"k\": false, \"n\": null, \"f\": 1.0, \"t\": true}, [2.50, -0, 12345678901234567890123]]", "[1, 'a', {'k': False, 'n': None, 'f': 1.0, 't': True}, [2.5, 0, 12345678901234567890123]]"},
      {"[]", "[]"},
      {"{}", "{}"},
      {"{\"a\": [], \"b\": {\"c\": \"d'\"}}", "{'a': [], 'b': {'c': \"d'\"}}"},
  };

  @Test
  void reprMatchesCPython() {
    for (String[] c : CPYTHON) {
      assertEquals(c[1], PyRepr.repr(Json.parse(c[0])), "repr of " + c[0]);
    }
  }

  @Test
  void strLeavesStringsBare() {
    assertEquals("it's", PyRepr.str(Json.parse("\"it's\"")));
    assertEquals("True", PyRepr.str(Boolean.TRUE));
    assertEquals("None", PyRepr.str(null));
  }

  @Test
  void randomDoublesReadBackInShortestDigits() {
    long seed = System.nanoTime();
    System.out.println("PyReprTest seed " + seed);
    Random rnd = new Random(seed);
    for (int i = 0; i < 20000; i++) {
      double x = i % 2 == 0 ? Double.longBitsToDouble(rnd.nextLong())
          : rnd.nextDouble() * Math.pow(10, rnd.nextInt(40) - 20);
      if (Double.isNaN(x) || Double.isInfinite(x)) {
        continue;
      }
      String r = PyRepr.floatRepr(x);
      assertEquals(x, Double.parseDouble(r), "seed " + seed + ": " + r + " must read back as " + x);
      assertTrue(significantDigits(r) <= significantDigits(Double.toString(x)),
          "seed " + seed + ": " + r + " is longer than " + Double.toString(x));
    }
  }

  private static int significantDigits(String s) {
    String mantissa = s.replaceFirst("[eE].*$", "").replace("-", "").replace(".", "").replaceFirst("^0+", "");
    return Math.max(1, mantissa.replaceFirst("0+$", "").length());
  }
}
