// Last-bit parity with the Python that VLM-R1 runs: golden values printed by CPython (3.11, glibc libm), each with
// the script that made it, compared with exact equality.
package org.vlmr1.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PythonParityTest {

  /**
   * Golden values from python-Levenshtein >= 0.20's formula (rapidfuzz-cpp distance.hpp: {@code norm_sim = 1.0 -
   * dist / maximum}, Indel maximum = len1 + len2), printed by:
   * <pre>
   * def lcs(a, b): ... (textbook LCS DP)
   * def ratio(a, b): t = len(a) + len(b); return 1.0 - ((t - 2 * lcs(a, b)) / t if t else 0.0)
   * print(repr(ratio(a, b)))
   * </pre>
   */
  @Test
  void levenshteinRatioRoundsAsRapidfuzz() {
    assertEquals(0.6666666666666667, Levenshtein.ratio("ab", "a"));
    assertEquals(0.6666666666666667, Levenshtein.ratio("the cat sat", "a cat sits"));
    assertEquals(0.8571428571428572, Levenshtein.ratio("cat", "cats"));
    assertEquals(0.6153846153846154, Levenshtein.ratio("kitten", "sitting"));
    assertEquals(0.5454545454545454, Levenshtein.ratio("abcdef", "azced"));
    assertEquals(0.8, Levenshtein.ratio("日本語", "日本"));
    assertEquals(0.0, Levenshtein.ratio("cat", "dog"));
    assertEquals(1.0, Levenshtein.ratio("", ""));
    // through the default accuracy reward (text answer, no digits, no choice letter): clean_text then ratio
    assertEquals(0.8571428571428572, TextRewardsTest.accuracy("<answer>cat</answer>", "<answer>cats</answer>",
        "default"));
  }
}
