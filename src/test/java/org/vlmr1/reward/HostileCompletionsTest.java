// The answer extraction and the format check are linear-time rewrites of VLM-R1's regexes: they must agree with the
// regexes on every text (random ones built from the tags, newlines and spaces), and finish on texts that made the
// regexes scan to the end from every tag (minutes for one completion, a hang for bin/vlmr1 score).
package org.vlmr1.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.vlmr1.util.PyText;

class HostileCompletionsTest {
  private static final Pattern ANSWER_DOTALL = PyText.compile("<answer>(.*?)</answer>", true);
  private static final Pattern ANSWER_LINE = PyText.compile("<answer>(.*?)</answer>", false);
  private static final Pattern FORMAT = PyText.compile("<think>.*?</think>\\s*<answer>.*?</answer>", true);
  private static final Pattern BOX_LIST = PyText.compile("\\[\\s*\\{.*?\"bbox_2d\".*?\"label\".*?\\}\\s*\\]", true);
  private static final String[] BOX_PIECES = {"[", "{", "}", "]", "\"bbox_2d\"", "\"label\"", " ", "\n", "\u3000",
      "x", "\"", "bbox_2d"};
  private static final Pattern REC_QWEN = PyText.compile(
      "<think>.*?</think>\\s*<answer>.*?\\{.*\\[\\d+,\\s*\\d+,\\s*\\d+,\\s*\\d+\\].*\\}.*?</answer>", true);
  private static final Pattern REC_INTERNVL = PyText.compile(
      "<think>.*?</think>\\s*<answer>.*?\\[\\d+,\\s*\\d+,\\s*\\d+,\\s*\\d+\\].*?</answer>", true);
  private static final String[] REC_PIECES = {"<think>", "</think>", "<answer>", "</answer>", "{", "}", "[1,2,3,4]",
      "[12, 3,\n4, 5]", "[", "]", "7", ",", " ", "x", "\n"};
  private static final String[] PIECES = {"<answer>", "</answer>", "<think>", "</think>", "\n", " ", "\u00a0", "x",
      "<", "answer>", "</", "\r", "\u2028"};

  private static Optional<String> regexLast(Pattern p, String text) {
    Matcher m = p.matcher(text);
    String last = null;
    while (m.find()) {
      last = m.group(1);
    }
    return Optional.ofNullable(last);
  }

  private static Optional<String> regexFirst(Pattern p, String text) {
    Matcher m = p.matcher(text);
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  @Test
  void agreesWithTheRegexesOnRandomTexts() {
    long seed = System.nanoTime();
    System.out.println("HostileCompletionsTest seed " + seed);
    Random r = new Random(seed);
    for (int n = 0; n < 20000; n++) {
      StringBuilder sb = new StringBuilder();
      // most texts open with <think> and close with </answer>, so that the format check's interesting cases come up
      if (r.nextInt(3) > 0) {
        sb.append("<think>");
      }
      int len = r.nextInt(12);
      for (int i = 0; i < len; i++) {
        sb.append(PIECES[r.nextInt(PIECES.length)]);
      }
      if (r.nextInt(3) > 0) {
        sb.append("</answer>");
      }
      String t = sb.toString();
      String where = "seed " + seed + ", text " + t.replace("\n", "\\n");
      assertEquals(regexFirst(ANSWER_DOTALL, t), AnswerText.firstAnswer(t, true), where);
      assertEquals(regexFirst(ANSWER_LINE, t), AnswerText.firstAnswer(t, false), where);
      assertEquals(regexLast(ANSWER_DOTALL, t), AnswerText.lastAnswer(t, true), where);
      assertEquals(regexLast(ANSWER_LINE, t), AnswerText.lastAnswer(t, false), where);
      assertEquals(FORMAT.matcher(t).matches(), FormatReward.fullMatch(t), where);
    }
  }

  @Test
  void boxListAgreesWithTheRegexOnRandomTexts() {
    long seed = System.nanoTime();
    System.out.println("HostileCompletionsTest box seed " + seed);
    Random r = new Random(seed);
    for (int n = 0; n < 20000; n++) {
      StringBuilder sb = new StringBuilder();
      int len = r.nextInt(16);
      for (int i = 0; i < len; i++) {
        sb.append(BOX_PIECES[r.nextInt(BOX_PIECES.length)]);
      }
      String t = sb.toString();
      Matcher m = BOX_LIST.matcher(t);
      assertEquals(m.find() ? m.group(0) : null, RepetitionReward.boxList(t), "seed " + seed + ", text " + t);
    }
  }

  @Test
  void recFormatAgreesWithTheRegexesOnRandomTexts() {
    long seed = System.nanoTime();
    System.out.println("HostileCompletionsTest rec seed " + seed);
    Random r = new Random(seed);
    for (int n = 0; n < 20000; n++) {
      StringBuilder sb = new StringBuilder();
      int len = r.nextInt(14);
      for (int i = 0; i < len; i++) {
        sb.append(REC_PIECES[r.nextInt(REC_PIECES.length)]);
      }
      String t = sb.toString();
      String where = "seed " + seed + ", text " + t.replace("\n", "\\n");
      assertEquals(REC_QWEN.matcher(t).find(), RecFormatReward.search(t, true), where);
      assertEquals(REC_INTERNVL.matcher(t).find(), RecFormatReward.search(t, false), where);
    }
  }

  @Test
  void unclosedTagsDoNotHang() {
    // Each of these took the regexes minutes (200,000 starts, each scanning ~2 MB); linear code takes milliseconds.
    String answers = "<answer>".repeat(200_000) + "</answer>x".repeat(1000);
    String lines = "<answer>a\n".repeat(200_000) + "</answer>";
    String format = "<think>" + "</think><answer>".repeat(100_000) + "x</answer>y";
    assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
      assertEquals(0.0, new AccuracyReward().score(RewardSample.of(answers, "[1, 2, 3, 4]")));
      assertEquals(Optional.of("a"), AnswerText.lastAnswer(lines, true).map(s -> s.substring(0, 1)));
      assertEquals(Optional.empty(), AnswerText.firstAnswer(lines, false));
      assertEquals(0.0, new FormatReward().score(RewardSample.of(format, "")));
      // the repetition reward's box-list search retried every "[{" (and every "bbox_2d" after it) to the end
      new RepetitionReward().score(RewardSample.of("[{".repeat(300_000), ""));
      new RepetitionReward().score(RewardSample.of("[{\"bbox_2d\"".repeat(100_000), ""));
      // the REC format patterns retried every '{' and scanned to the end from each
      String rec = "<think></think><answer>" + "{[1,2,3,4]".repeat(30_000) + "</answer>x";
      assertEquals(0.0, RecFormatReward.qwen().score(RewardSample.of(rec, "")));
      assertEquals(1.0, RecFormatReward.internVl().score(RewardSample.of(rec, "")));
    });
  }

  /**
   * Old code: JsonRepair read each '[' or '{' with one more Java frame, so a completion whose JSON block nests 10^5
   * deep (random depth here) was a StackOverflowError in the repetition reward (score exit 1, a training step's
   * scoring failed). The reading now stops at Jackson's depth, as at a truncation: the boxes before it still count.
   */
  @Test
  void deeplyNestedJsonBlocksEndTheReadingInsteadOfTheStack() {
    long seed = System.nanoTime();
    System.out.println("HostileCompletionsTest nesting seed " + seed);
    int depth = 20_000 + new Random(seed).nextInt(100_000);
    String box = "{\"bbox_2d\": [1, 2, 3, 4], \"label\": \"x\"}, ";
    for (String open : new String[] {"[", "{\"a\": "}) {
      String deep = "```json[" + box + box + open.repeat(depth) + "```";
      assertEquals(-0.5, new RepetitionReward().score(RewardSample.of(deep, "")), "seed " + seed);
    }
    Object parsed = JsonRepair.parse("[".repeat(depth));
    int levels = 0;
    for (Object o = parsed; o instanceof java.util.List<?> l; o = l.isEmpty() ? null : l.get(0)) {
      levels++;
    }
    assertEquals(JsonRepair.MAX_DEPTH, levels, "seed " + seed);
  }

  /** The default accuracy of an answer against a solution, both in answer tags, as score computes it. */
  private static double accuracy(String answer, String solution) {
    return new AccuracyReward().score(RewardSample.of("<answer>" + answer + "</answer>", "<answer>" + solution
        + "</answer>"));
  }

  /**
   * Old code: the math check's exact BigDecimal difference of 1e999999999 and 0.5 was "BigInteger would overflow
   * supported range" and "1e" with 10^5 nines "Too many nonzero exponent digits" (NumberFormatException): score
   * exit 1, the training step's scoring failed; an exponent of 10^8 took minutes.
   */
  @Test
  void hugeExponentsInMathAnswersAreComparedWithoutExpandingThem() {
    long seed = System.nanoTime();
    System.out.println("HostileCompletionsTest exponent seed " + seed);
    Random r = new Random(seed);
    int e = 100_000_000 + r.nextInt(900_000_000);
    String nines = "9".repeat(20_000 + r.nextInt(80_000));
    assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
      assertTrue(accuracy("1e" + e, "0.5") < 1, "seed " + seed);
      assertTrue(accuracy("0.5", "-1e" + e) < 1, "seed " + seed);
      assertEquals(1.0, accuracy("1e" + e, "1e" + e), "seed " + seed);
      assertTrue(accuracy("1e" + nines, "0.5") < 1, "seed " + seed);
      assertEquals(1.0, accuracy("1e" + nines, "1e" + nines), "the same text still matches");
    }, "seed " + seed);
  }
}
