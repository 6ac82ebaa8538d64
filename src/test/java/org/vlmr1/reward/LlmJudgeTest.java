// The llm accuracy against a real HTTP server on loopback (an OpenAI-compatible stand-in), and its fallbacks.
package org.vlmr1.reward;

import org.vlmr1.util.Json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class LlmJudgeTest {

  interface Handler {
    String reply(String requestBody);
  }

  static HttpServer serve(int status, Handler h) throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/v1/chat/completions", ex -> {
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      byte[] out = h.reply(body).getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status, out.length);
      ex.getResponseBody().write(out);
      ex.close();
    });
    server.start();
    return server;
  }

  static String completion(String content) {
    return Json.write(Map.of("choices", List.of(Map.of("message", Map.of("role", "assistant", "content", content)))));
  }

  static LlmJudge judge(HttpServer s) {
    return new LlmJudge("http://127.0.0.1:" + s.getAddress().getPort() + "/v1", "k", "qwen2.5:7b",
        Duration.ofSeconds(5));
  }

  @Test
  void asksTheEndpointAndReadsItsScore() throws Exception {
    AtomicReference<String> seen = new AtomicReference<>();
    HttpServer s = serve(200, body -> {
      seen.set(body);
      return completion(" 1.0 ");
    });
    try {
      AccuracyReward r = new AccuracyReward(judge(s));
      double v = r.score(RewardSample.of("<answer>Paris, France</answer>", "<answer>Paris</answer>").withMethod("llm"));
      assertEquals(1.0, v);
      assertTrue(seen.get().contains("Student's response: Paris, France\\nCorrect solution: Paris"), seen.get());
      assertTrue(seen.get().contains("\"temperature\":0"), seen.get());
    } finally {
      s.stop(0);
    }
  }

  @Test
  void fallsBackToExactMatch() throws Exception {
    HttpServer broken = serve(500, body -> "oops");
    HttpServer chatty = serve(200, body -> completion("I think they match"));
    try {
      for (HttpServer s : List.of(broken, chatty)) {
        assertEquals(1.0, judge(s).judge("Paris", "Paris"));
        assertEquals(0.0, judge(s).judge("Lyon", "Paris"));
      }
    } finally {
      broken.stop(0);
      chatty.stop(0);
    }
    // Nothing listens on this port any more.
    int port = broken.getAddress().getPort();
    LlmJudge gone = new LlmJudge("http://127.0.0.1:" + port + "/v1", null, "m", Duration.ofSeconds(2));
    assertEquals(1.0, gone.judge("x", "x"));
    assertEquals(0.0, new AccuracyReward().score(RewardSample.of("<answer>a</answer>", "b").withMethod("llm")),
        "no judge configured: exact match");
  }

  @Test
  void fallBacksAreCountedAndDrainedPerCall() throws Exception {
    HttpServer ok = serve(200, body -> completion("0.0"));
    HttpServer broken = serve(500, body -> "oops");
    try {
      RewardSample llm = RewardSample.of("<answer>Paris</answer>", "<answer>Paris</answer>").withMethod("llm");
      RewardSample plain = RewardSample.of("<answer>Paris</answer>", "<answer>Paris</answer>");
      AccuracyReward answered = new AccuracyReward(judge(ok));
      assertEquals(0.0, answered.score(llm), "the judge's verdict, not exact match");
      assertEquals(Map.of(AccuracyReward.JUDGE_FALLBACKS, 0L), answered.drainCounters());

      AccuracyReward failing = new AccuracyReward(judge(broken));
      AccuracyReward unset = new AccuracyReward();
      for (AccuracyReward r : List.of(failing, unset)) {
        assertEquals(1.0, r.score(llm), "exact match");
        assertEquals(1.0, r.score(llm));
        assertEquals(1.0, r.score(plain), "not an llm example: not a fall-back");
        assertEquals(Map.of(AccuracyReward.JUDGE_FALLBACKS, 2L), r.drainCounters());
        assertEquals(Map.of(AccuracyReward.JUDGE_FALLBACKS, 0L), r.drainCounters(), "reset by the read");
      }
    } finally {
      ok.stop(0);
      broken.stop(0);
    }
  }

  @Test
  void theScorerCountsFallBacksFromEveryThread() {
    List<RewardSample> batch = new java.util.ArrayList<>();
    for (int i = 0; i < 500; i++) {
      batch.add(RewardSample.of("<answer>" + i + "</answer>", "<answer>" + (i % 3) + "</answer>")
          .withMethod(i % 5 == 0 ? "default" : "llm"));
    }
    try (RewardScorer scorer = new RewardScorer(List.of(new AccuracyReward(), new FormatReward()), null, 4)) {
      scorer.score(batch);
      assertEquals(Map.of(AccuracyReward.JUDGE_FALLBACKS, 400L), scorer.drainCounters());
      scorer.score(batch.subList(0, 10));
      assertEquals(Map.of(AccuracyReward.JUDGE_FALLBACKS, 8L), scorer.drainCounters(), "per call, not cumulative");
    }
  }

  @Test
  void theTrainingContextTakesTheJudgeFromVlmR1sVariables() throws Exception {
    assertEquals(null, Rewards.Context.fromEnvironment(null, Map.of()).judge(), "no OPENAI_API_BASE: no judge");
    AtomicReference<String> auth = new AtomicReference<>();
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext("/v1/chat/completions", ex -> {
      auth.set(ex.getRequestHeaders().getFirst("Authorization"));
      byte[] out = completion("1.0").getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, out.length);
      ex.getResponseBody().write(out);
      ex.close();
    });
    s.start();
    try {
      Rewards.Context ctx = Rewards.Context.fromEnvironment(null, Map.of("OPENAI_API_BASE",
          "http://127.0.0.1:" + s.getAddress().getPort() + "/v1", "OPENAI_API_KEY", "sk-test"));
      assertEquals(LlmJudge.DEFAULT_MODEL, ctx.judge().model());
      RewardFunction acc = Rewards.resolve(List.of("accuracy"), null, ctx).get(0);
      assertEquals(1.0, acc.score(RewardSample.of("<answer>Lyon</answer>", "Paris").withMethod("llm")),
          "the judge said 1.0 where exact match says 0");
      assertEquals("Bearer sk-test", auth.get());
      assertEquals(Map.of(AccuracyReward.JUDGE_FALLBACKS, 0L), acc.drainCounters());
    } finally {
      s.stop(0);
    }
  }

  @Test
  void scorerSumsWeightedRewardsOnAPool() {
    try (RewardScorer scorer = new RewardScorer(List.of(new FormatReward(), new AccuracyReward()),
        new double[] {0.5, 2.0}, 2)) {
      List<RewardSample> batch = List.of(
          RewardSample.of("<think>t</think><answer>3</answer>", "<answer>3</answer>"),
          RewardSample.of("3", "<answer>4</answer>"));
      RewardScorer.Scores sc = scorer.score(batch);
      assertEquals(1.0, sc.perFunction()[0][0]);
      assertEquals(1.0, sc.perFunction()[1][0]);
      assertEquals(2.5, sc.total()[0]);
      assertEquals(0.0, sc.total()[1]);
    }
  }
}
