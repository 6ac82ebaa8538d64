// Last-bit parity with the Python that VLM-R1 runs: golden values printed by CPython (3.11, glibc libm), each with
// the script that made it, compared with exact equality.
package org.vlmr1.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.vlmr1.util.PyText;

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

  /**
   * cosine_reward's {@code max - (max - min) * (1 - math.cos(L * math.pi / 1024)) / 2}, printed by CPython 3.11 on
   * glibc 2.36: {@code print(repr(math.cos(L * math.pi / 1024)))} and
   * {@code print(repr(1.0 - (1.0 - 0.5) * (1 - math.cos(L * math.pi / 1024)) / 2))} (correct; wrong: max -0.5,
   * min 0.0). Java's Math.cos gives ...306 at 349 and 0.790471598445028 at 459. All 1025 lengths of both branches
   * were compared with Python bit for bit when this was written.
   */
  @Test
  void cosineLengthRewardMatchesPythonsCos() {
    assertEquals(0.479493757660153, CosineLengthReward.pythonCos(349));
    assertEquals(0.16188639378011188, CosineLengthReward.pythonCos(459));
    assertEquals(0.7904715984450279, CosineLengthReward.shaped(459, true));
    assertEquals(-0.29047159844502796, CosineLengthReward.shaped(459, false));
    assertEquals(0.8698734394150383, CosineLengthReward.shaped(349, true));
    assertEquals(0.75, CosineLengthReward.shaped(512, true));
    assertEquals(0.5, CosineLengthReward.shaped(1024, true));
    assertEquals(1.0, CosineLengthReward.shaped(0, true));
  }

  /**
   * Integer boxes near 1e8: Python's IoU is exact integer arithmetic. Golden values from VLM-R1's own iou and
   * detection_score (grpo_jsonl.py, exec'd from the source with ast), CPython 3.11:
   * {@code a = [255512575, 636343332, 939874257, 876383742]; b = [257926210, 642249929, 949364418, 868582525]};
   * {@code repr(iou(a, b))} and {@code repr(detection_score(clean_text(box(a)), clean_text(box(b))))} with box() the
   * ```json [{"bbox_2d": ..., "label": "cat"}] ``` answer. Doubles give 0.9274417367346386.
   */
  @Test
  void integerBoxesIouIsExactAsPythonInts() {
    String a = "[255512575, 636343332, 939874257, 876383742]";
    String b = "[257926210, 642249929, 949364418, 868582525]";
    assertEquals(0.9274417367346389, RecIouReward.internVl().score(
        RewardSample.of("<think>t</think><answer>" + a + "</answer>", "<answer>" + b + "</answer>")));
    String box = "```json\n[{\"bbox_2d\": %s, \"label\": \"cat\"}]\n```";
    assertEquals(0.9492092157142471, TextRewardsTest.accuracy("<answer>" + String.format(box, a) + "</answer>",
        "<answer>" + String.format(box, b) + "</answer>", "weighted_sum"));
    // a float coordinate keeps Python's float arithmetic (the double path)
    assertEquals(0.9274417367346386, BoxIou.iou(new double[] {255512575, 636343332, 939874257, 876383742},
        new double[] {257926210, 642249929, 949364418, 868582525}));
  }

  /**
   * str.lower()'s final sigma, CPython 3.11: {@code repr(s.lower())} for each s. Java's toLowerCase judges Σ by word
   * boundaries and gives σ for "D:Σ!" (':' is case-ignorable, '!' is not cased). Every code point assigned in
   * Unicode 13 was checked in the contexts "AXΣ", "XΣ", "AΣX", "AΣXa", "AXΣ!" against Python when this was written.
   */
  @Test
  void lowerFollowsPythonsFinalSigma() {
    assertEquals("d:\u03c2!", PyText.lower("D:\u03a3!"));
    assertEquals("a\u00df.\u03c2<", PyText.lower("A\u00df.\u03a3<"));
    assertEquals("\u03bf\u03b4\u03bf\u03c2", PyText.lower("\u039f\u0394\u039f\u03a3"));
    assertEquals("\u03b1\u03c3.\u03b2", PyText.lower("\u0391\u03a3.\u0392"));
    assertEquals("\u03c3", PyText.lower("\u03a3"));
    assertEquals("a\u03c3\u0301x", PyText.lower("A\u03a3\u0301x"));
    assertEquals("\u03b1\u00ad\u03c2\ud83d\ude00", PyText.lower("\u0391\u00ad\u03a3\ud83d\ude00"));
    // clean_text lower-cases: all_match compares "d:ς!" with the completion's "d:ς!"
    assertEquals(1.0, TextRewardsTest.accuracy("<answer>d:\u03c2!</answer>", "D:\u03a3!", "all_match"));
  }
}
