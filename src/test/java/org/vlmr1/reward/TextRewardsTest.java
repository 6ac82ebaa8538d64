// Format, accuracy (text, choice, numeric, math) and the Python-semantics helpers, on the spec's rules and edge cases.
package org.vlmr1.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class TextRewardsTest {
  static final double EPS = 1e-9;

  static double format(String completion) {
    return new FormatReward().score(RewardSample.of(completion, ""));
  }

  static double accuracy(String completion, String solution, String method) {
    return new AccuracyReward().score(RewardSample.of(completion, solution).withMethod(method));
  }

  @Test
  void formatIsAFullMatch() {
    assertEquals(1.0, format("<think>a box</think> <answer>[1,2,3,4]</answer>"));
    assertEquals(1.0, format("<think>multi\nline</think>\n\n<answer>x\ny</answer>"));
    assertEquals(1.0, format("<think>a</think>\u00a0<answer>b</answer>"), "Python's \\s includes U+00A0");
    assertEquals(0.0, format("<think>a</think><answer>b</answer>\n"), "a trailing newline breaks fullmatch");
    assertEquals(0.0, format("Sure. <think>a</think><answer>b</answer>"));
    assertEquals(0.0, format("<answer>b</answer>"));
    assertEquals(0.0, format(""));
  }

  @Test
  void cleanText() {
    assertEquals("the cat", AnswerText.clean("<think>x</think><answer> The Cat.\n</answer>"));
    assertEquals("a b", AnswerText.clean("a\nb"), "a newline not after whitespace becomes a space");
    assertEquals("a b", AnswerText.clean("a \nb"), "a newline after whitespace is deleted");
    assertEquals("last", AnswerText.clean("<answer>first</answer><answer>Last</answer>"));
    assertEquals("", AnswerText.clean("..."));
  }

  @Test
  void choiceExtraction() {
    assertEquals(Optional.of("B"), ChoiceExtraction.extract("I think the answer is B."));
    assertEquals(Optional.of("C"), ChoiceExtraction.extract("c"));
    assertEquals(Optional.empty(), ChoiceExtraction.extract("no letter here"));
    // A scores 1 (followed by '.'); B scores 2 twice (keyword "answer" near its first occurrence, and '.').
    assertEquals(Optional.of("B"), ChoiceExtraction.extract("A. apple B. banana The answer is B."));
  }

  @Test
  void levenshteinRatio() {
    assertEquals(8.0 / 13, Levenshtein.ratio("kitten", "sitting"), EPS);
    assertEquals(1.0, Levenshtein.ratio("", ""));
    assertEquals(0.0, Levenshtein.ratio("abc", ""));
  }

  @Test
  void pythonFloat() {
    assertEquals(1000.0, PyFloat.parse("1_000"));
    assertEquals(3.0, PyFloat.parse(" 3 "));
    assertEquals(0.5, PyFloat.parse(".5"));
    assertEquals(5.0, PyFloat.parse("5."));
    assertEquals(1e3, PyFloat.parse("1e3"));
    assertEquals(3.0, PyFloat.parse("\u0663"), "Arabic-Indic three");
    assertEquals(Double.NEGATIVE_INFINITY, PyFloat.parse("-Infinity"));
    assertTrue(PyFloat.parse("nan").isNaN());
    assertNull(PyFloat.parse("1__0"));
    assertNull(PyFloat.parse("3 apples"));
    assertNull(PyFloat.parse("0x10"));
    assertNull(PyFloat.parse(""));
  }

  /**
   * Old code: float()'s grammar as a regex whose group recursed once per digit, so a 5,000-digit answer (random
   * lengths here) was a StackOverflowError; the scanner that replaced it accepts exactly what that regex did (random
   * short strings of the grammar's characters, the regex as oracle) and lets long runs through.
   */
  @Test
  void pythonFloatOfLongDigitRunsAndTheOldGrammar() {
    long seed = System.nanoTime();
    System.out.println("TextRewardsTest seed " + seed);
    java.util.Random r = new java.util.Random(seed);
    int n = 5_000 + r.nextInt(100_000);
    assertEquals(Double.POSITIVE_INFINITY, PyFloat.parse("9".repeat(n)), "seed " + seed);
    assertEquals(Double.parseDouble("1".repeat(n / 2)), PyFloat.parse("1_".repeat(n / 2 - 1) + "1"), "seed " + seed);
    assertEquals(0.0, PyFloat.parse("0." + "0".repeat(n) + "e-5"), "seed " + seed);
    String d = "\\p{Nd}(?:_?\\p{Nd})*";
    java.util.regex.Pattern old = java.util.regex.Pattern.compile("[+-]?(?:(?:" + d + ")(?:\\.(?:" + d + ")?)?|\\.(?:"
        + d + "))(?:[eE][+-]?(?:" + d + "))?");
    String[] alphabet = {"0", "7", "\u0663", "_", ".", "e", "E", "+", "-", "x", " "};
    for (int i = 0; i < 20_000; i++) {
      StringBuilder sb = new StringBuilder();
      for (int k = r.nextInt(9); k > 0; k--) {
        sb.append(alphabet[r.nextInt(alphabet.length)]);
      }
      String t = sb.toString();
      assertEquals(old.matcher(t).matches(), PyFloat.isLiteral(t), "'" + t + "' (seed " + seed + ")");
    }
  }

  @Test
  void defaultAccuracy() {
    assertEquals(1.0, accuracy("<answer>3.0</answer>", "<answer>3</answer>", null), "numeric equality");
    assertEquals(1.0, accuracy("<think>..</think><answer>\\frac{1}{2}</answer>", "<answer>0.5</answer>", "default"));
    assertEquals(1.0, accuracy("<answer>x=5</answer>", "<answer>5</answer>", "default"));
    assertEquals(0.0, accuracy("<answer>4</answer>", "<answer>5</answer>", "default"));
    assertEquals(6.0 / 7, accuracy("<answer>cat</answer>", "<answer>cats</answer>", "default"), EPS, "ratio");
    assertEquals(0.7, accuracy("<answer>three apples</answer>", "<answer>3 apples</answer>", "default"), EPS,
        "digits but not floats: ratio of the cleaned texts");
    assertEquals(1.0, accuracy("<answer>The answer is B.</answer>", "<answer>B</answer>", "default"));
    assertEquals(0.0, accuracy("<answer>C</answer>", "<answer>B</answer>", "default"));
    assertEquals(1.0, accuracy("<answer>yes</answer>", "<answer>yes</answer>", "no_such_method"),
        "unknown methods use default");
    assertEquals(0.0, accuracy("", "<answer>5</answer>", null), "empty completion");
    assertEquals(0.0, accuracy("<answer>99999999999999999999999</answer>", "<answer>5</answer>", null));
    assertEquals(1.0, accuracy("<answer>答案是 B.</answer>", "<answer>B</answer>", "mcq"), "non-ASCII text");
    assertEquals(0.0, accuracy("<answer>答案是 B。</answer>", "<answer>B</answer>", "mcq"),
        "a letter must be followed by ASCII punctuation or the end (VLM-R1's regex)");
    assertEquals(1.0, accuracy("<answer>北京</answer>", "<answer>北京</answer>", "all_match"));
  }

  @Test
  void mcqYesNoAllMatch() {
    assertEquals(1.0, accuracy("<answer>I choose C.</answer>", "<answer>C</answer>", "mcq"));
    assertEquals(0.0, accuracy("<answer>I choose</answer>", "<answer>C</answer>", "mcq"), "no student letter");
    assertEquals(1.0, accuracy("<answer>Yes, it is.</answer>", "<answer>yes</answer>", "yes_no"));
    assertEquals(0.0, accuracy("<answer>I do not know</answer>", "<answer>yes</answer>", "yes_no"),
        "\"not\" contains \"no\", as in VLM-R1");
    assertEquals(1.0, accuracy("<answer>maybe</answer>", "<answer>perhaps</answer>", "yes_no"),
        "neither word on both sides counts as equal (VLM-R1's quirk)");
    assertEquals(1.0, accuracy("<answer> Paris.\n</answer>", "paris", "all_match"));
    assertEquals(0.0, accuracy("<answer>Lyon</answer>", "paris", "all_match"));
  }

  @Test
  void mathMethod() {
    assertEquals(1.0, accuracy("<answer>\\boxed{\\frac{1}{2}}</answer>", "<answer>0.5</answer>", "math"));
    assertEquals(1.0, accuracy("<answer>so \\boxed{\\dfrac12}</answer>", "<answer>\\frac{1}{2}</answer>", "math"));
    assertEquals(0.0, accuracy("<answer>\\boxed{3}</answer>", "<answer>4</answer>", "math"));
    assertTrue(MathAnswers.isEquiv("3/4", "\\frac{3}{4}"));
    assertTrue(MathAnswers.isEquiv("\\sqrt3", "\\sqrt{3}"));
    assertTrue(MathAnswers.isEquiv("10\\%", "10"));
    assertTrue(MathAnswers.isEquiv("5\\text{ cm}", "5"));
    assertEquals("\\boxed{x^{2}}", MathAnswers.lastBoxedOnlyString("a \\boxed{1} b \\boxed{x^{2}} c"));
    assertNull(MathAnswers.lastBoxedOnlyString("\\boxed{unclosed"));
    assertTrue(MathAnswers.verify("1,000", "1000"));
    assertTrue(MathAnswers.verify("(1, 2)", "(1,2)"));
    assertTrue(!MathAnswers.verify("(1, 2)", "(2,1)"));
    assertTrue(MathAnswers.verify("$\\frac{2}{4}$", "0.5"));
    assertTrue(!MathAnswers.verify("cat", "dog"));
    assertTrue(MathAnswers.verify("The answer is 12.", "12"), "prose: the number after \"answer is\"");
    assertTrue(MathAnswers.verify("3 apples and 4 pears, so 7", "7"), "prose: the last number");
    assertTrue(!MathAnswers.verify("The answer is 12, not 13", "13"));
  }
}
