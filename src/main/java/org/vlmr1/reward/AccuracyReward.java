// --reward_funcs accuracy: VLM-R1's accuracy_reward, dispatched per example on accu_reward_method (grpo_jsonl.py,
// VLM-R1-SPEC.md 3.3-3.5).
package org.vlmr1.reward;

import org.vlmr1.util.PyText;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The accuracy reward.
 *
 * <ul>
 *   <li>{@code default}: math equivalence ({@link MathAnswers#verify}, our math_verify stand-in) of the last answer
 *       block against the first solution answer block (no DOTALL); else, when the ground truth has a digit, exact
 *       float equality of the cleaned texts (Levenshtein ratio when either is not a float); else, when the ground
 *       truth names a choice letter, letter equality; else the Levenshtein ratio of the cleaned texts (fractional).
 *   <li>{@code mcq}: choice letters of the first answer blocks; {@code yes_no}: the first "yes"/"no" of each
 *       (lower-cased; two answers with neither count as equal, as in VLM-R1); {@code all_match}: cleaned texts equal.
 *   <li>{@code math}: {@link MathAnswers#computeScore} of the cleaned texts.
 *   <li>{@code map}, {@code od_ap}, {@code od_ap50}, {@code odLength}, {@code weighted_sum}: {@link DetectionRewards}.
 *   <li>{@code llm}: the judge given at construction ({@link LlmJudge}); exact match without one or when it
 *       fails, each such fall-back counted ({@link #drainCounters}: {@code llm_judge_fallbacks}).
 *   <li>any other value: {@code default}, as in VLM-R1.
 * </ul>
 *
 * <p>Examples: default, completion {@code "<answer>3.0</answer>"}, solution {@code "<answer>3</answer>"} scores 1.0;
 * completion {@code "<answer>cat</answer>"}, solution {@code "<answer>cats</answer>"} scores 0.857143 (ratio).
 */
public final class AccuracyReward implements RewardFunction {
  private static final Pattern DIGIT = PyText.compile("\\d", false);
  private static final Pattern YES_NO = PyText.compile("(yes|no)", false);
  /** The counter of {@code llm} examples scored by exact match because the judge was unset or failed. */
  public static final String JUDGE_FALLBACKS = "llm_judge_fallbacks";
  private final LlmJudge judge;
  private final RewardDebugLog log;
  private final AtomicLong judgeFallbacks = new AtomicLong();
  private final AtomicBoolean warned = new AtomicBoolean();

  /** Without an LLM judge: {@code llm} examples fall back to exact match of the answers. */
  public AccuracyReward() {
    this(null, RewardDebugLog.OFF);
  }

  public AccuracyReward(LlmJudge judge) {
    this(judge, RewardDebugLog.OFF);
  }

  /**
   * @param judge the {@code llm} method's judge, or null (exact match)
   * @param log VLM-R1's DEBUG_MODE trace (LOG_PATH), or {@link RewardDebugLog#OFF}
   */
  public AccuracyReward(LlmJudge judge, RewardDebugLog log) {
    this.judge = judge;
    this.log = log;
  }

  @Override
  public String name() {
    return "accuracy";
  }

  @Override
  public double score(RewardSample s) {
    String content = s.completion();
    String sol = s.solution();
    switch (AccuracyMethod.of(s.accuRewardMethod())) {
      case MCQ: return mcq(content, sol);
      case YES_NO: return yesNo(content, sol);
      case LLM: return llm(content, sol);
      case MAP: return DetectionRewards.mapReward(s, content, sol, false, false);
      case MATH: return MathAnswers.computeScore(AnswerText.clean(content), AnswerText.clean(sol));
      case WEIGHTED_SUM: return DetectionRewards.weightedSum(s);
      case OD_AP: return DetectionRewards.odReward(s, false, false);
      case OD_AP50: return DetectionRewards.odReward(s, false, true);
      case OD_LENGTH: return DetectionRewards.odReward(s, true, false);
      case ALL_MATCH: return AnswerText.clean(content).equals(AnswerText.clean(sol)) ? 1.0 : 0.0;
      default: return defaultAccuracy(content, sol);
    }
  }

  @Override
  public void scored(List<RewardSample> samples, double[] scores) {
    log.accuracy(samples, scores);
  }

  /** {@code llm_judge_fallbacks}: {@code llm} examples scored by exact match since the last call. */
  @Override
  public Map<String, Long> drainCounters() {
    return Map.of(JUDGE_FALLBACKS, judgeFallbacks.getAndSet(0));
  }

  /** The solution's first answer block (no DOTALL) stripped, else the whole solution stripped. */
  private static String groundTruth(String sol) {
    return PyText.strip(AnswerText.firstAnswer(sol, false).orElse(sol));
  }

  static double defaultAccuracy(String content, String sol) {
    String truth = groundTruth(sol);
    String student = AnswerText.lastAnswer(content, true).map(PyText::strip).orElse(PyText.strip(content));
    if (MathAnswers.verify(student, truth)) {
      return 1.0;
    }
    Optional<String> truthChoice = ChoiceExtraction.extract(truth);
    if (DIGIT.matcher(truth).find()) {
      Double a = PyFloat.parse(AnswerText.clean(student));
      Double b = PyFloat.parse(AnswerText.clean(truth));
      if (a == null || b == null) {
        return Levenshtein.ratio(AnswerText.clean(student), AnswerText.clean(truth));
      }
      return a.doubleValue() == b.doubleValue() ? 1.0 : 0.0;
    }
    if (truthChoice.isPresent()) {
      Optional<String> studentChoice = ChoiceExtraction.extract(student);
      return studentChoice.isPresent() && studentChoice.get().equals(truthChoice.get()) ? 1.0 : 0.0;
    }
    return Levenshtein.ratio(AnswerText.clean(student), AnswerText.clean(truth));
  }

  static double mcq(String content, String sol) {
    String truth = groundTruth(sol);
    String correct = ChoiceExtraction.extract(truth).orElse(PyText.strip(sol));
    String student = AnswerText.firstAnswer(content, true).map(PyText::strip).orElse(PyText.strip(content));
    Optional<String> choice = ChoiceExtraction.extract(student);
    return choice.isPresent() && choice.get().equals(correct) ? 1.0 : 0.0;
  }

  static double yesNo(String content, String sol) {
    String truth = groundTruth(PyText.lower(sol));
    String lc = PyText.lower(content);
    String student = AnswerText.firstAnswer(lc, true).map(PyText::strip).orElse(PyText.strip(lc));
    return firstYesNo(truth).equals(firstYesNo(student)) ? 1.0 : 0.0;
  }

  private static String firstYesNo(String text) {
    Matcher m = YES_NO.matcher(text);
    return m.find() ? m.group(1) : "";
  }

  private double llm(String content, String sol) {
    String truth = groundTruth(sol);
    String student = AnswerText.lastAnswer(content, true).map(PyText::strip).orElse(PyText.strip(content));
    if (judge != null) {
      LlmJudge.Verdict v = judge.ask(student, truth);
      if (v.ok()) {
        return v.score();
      }
      fellBack("the llm judge at " + judge.baseUrl() + " failed (" + v.failure() + ")");
    } else {
      fellBack("no llm judge: OPENAI_API_BASE is not set");
    }
    return student.equals(truth) ? 1.0 : 0.0;
  }

  private void fellBack(String why) {
    judgeFallbacks.incrementAndGet();
    if (warned.compareAndSet(false, true)) {
      System.err.println("warning: " + why + "; accu_reward_method llm scores by exact match instead (counted in "
          + "rewards/" + JUDGE_FALLBACKS + "; warned once)");
    }
  }
}
