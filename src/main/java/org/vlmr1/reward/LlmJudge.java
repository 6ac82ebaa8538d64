// The accu_reward_method "llm" judge: an OpenAI-compatible chat endpoint asked whether an answer matches the solution
// (VLM-R1's evaluate_answer_similarity), with exact match as the fallback when the endpoint fails.
package org.vlmr1.reward;

import org.vlmr1.util.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Asks an OpenAI-compatible {@code /chat/completions} endpoint (model, temperature 0, VLM-R1's two user messages) and
 * reads the reply as a float ({@code '1.0'} or {@code '0.0'}). Any failure (unreachable, timeout, HTTP error, a reply
 * that is not a number) falls back to exact match of the two answers, as VLM-R1 does. Thread-safe.
 *
 * @param baseUrl e.g. {@code http://127.0.0.1:11434/v1} (VLM-R1 reads OPENAI_API_BASE)
 * @param apiKey bearer token, or null (OPENAI_API_KEY)
 * @param model VLM-R1 uses {@code qwen2.5:7b}
 * @param timeout per request
 */
public record LlmJudge(String baseUrl, String apiKey, String model, Duration timeout) {
  static final String INSTRUCTION = "You are a evaluation expert. First, analyze the student's response to identify "
      + "and extract their final answer. Then, compare the extracted answer with the correct solution. Output ONLY "
      + "'1.0' if the extracted answer matches the correct solution in meaning, or '0.0' if the student's response "
      + "does not contain a clear or correct answer. No other output is allowed.";

  /** VLM-R1's judge model (hard-coded in grpo_jsonl.py's evaluate_answer_similarity). */
  public static final String DEFAULT_MODEL = "qwen2.5:7b";
  /** Per request, as the score command's --llm_timeout default. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public LlmJudge {
    if (baseUrl == null || baseUrl.isBlank()) {
      throw new IllegalArgumentException("LlmJudge needs a base URL (e.g. OPENAI_API_BASE)");
    }
    if (model == null || model.isBlank()) {
      throw new IllegalArgumentException("LlmJudge needs a model name");
    }
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("LlmJudge needs a positive timeout");
    }
  }

  /** From OPENAI_API_BASE / OPENAI_API_KEY (VLM-R1's variables), or null when no base URL is set. */
  public static LlmJudge fromEnvironment(String model, Duration timeout) {
    return fromEnvironment(System.getenv(), model, timeout);
  }

  /**
   * From OPENAI_API_BASE / OPENAI_API_KEY in {@code env}, or null when no base URL is set. (VLM-R1 then calls
   * api.openai.com with a placeholder key, which fails, so it scores by exact match; we skip the doomed request.)
   */
  public static LlmJudge fromEnvironment(Map<String, String> env, String model, Duration timeout) {
    String base = env.get("OPENAI_API_BASE");
    return base == null || base.isBlank() ? null : new LlmJudge(base, env.get("OPENAI_API_KEY"), model, timeout);
  }

  /** A reply: the judge's score, or why there is none ({@code failure} set; the caller falls back). */
  public record Verdict(double score, String failure) {
    public boolean ok() {
      return failure == null;
    }
  }

  /** The judge's score for a student answer against the ground truth, exact match when the judge fails. */
  public double judge(String studentAnswer, String groundTruth) {
    Verdict v = ask(studentAnswer, groundTruth);
    return v.ok() ? v.score() : fallback(studentAnswer, groundTruth);
  }

  /** Asks the endpoint once; never throws. */
  public Verdict ask(String studentAnswer, String groundTruth) {
    try {
      Map<String, Object> body = Map.of("model", model, "temperature", 0, "messages", List.of(
          Map.of("role", "user", "content", INSTRUCTION),
          Map.of("role", "user", "content", "Student's response: " + studentAnswer + "\nCorrect solution: "
              + groundTruth + "\nOutput only 1.0 or 0.0:")));
      HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(baseUrl.replaceAll("/+$", "") + "/chat/completions"))
          .timeout(timeout).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(Json.write(body)));
      if (apiKey != null && !apiKey.isBlank()) {
        req.header("Authorization", "Bearer " + apiKey);
      }
      HttpResponse<String> resp = CLIENT.send(req.build(), HttpResponse.BodyHandlers.ofString());
      if (resp.statusCode() / 100 != 2) {
        return new Verdict(Double.NaN, "HTTP " + resp.statusCode());
      }
      Object content = ((Map<?, ?>) ((Map<?, ?>) ((List<?>) ((Map<?, ?>) Json.parse(resp.body())).get("choices"))
          .get(0)).get("message")).get("content");
      Double v = PyFloat.parse(String.valueOf(content));
      return v != null ? new Verdict(v, null) : new Verdict(Double.NaN, "a reply that is not a number: " + content);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Verdict(Double.NaN, "interrupted");
    } catch (Exception e) {
      return new Verdict(Double.NaN, String.valueOf(e));
    }
  }

  private static double fallback(String student, String truth) {
    return student.equals(truth) ? 1.0 : 0.0;
  }
}
