// Next-token selection: argmax, top-k (ties kept), top-p, and draws that depend only on (seed, step, sample index).
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TokenSamplerTest {
  @Test
  void greedyTopKTopPAndReproducibility() {
    float[] logits = {0f, 5f, 1f, 5f, -2f, 3f};
    assertEquals(1, TokenSampler.next(logits, SamplingConfig.greedy(1), 0, 0, 0), "the first maximum");
    assertEquals(3f, TokenSampler.kthLargest(logits, 3));
    SamplingConfig top2 = new SamplingConfig(false, 1.0, 2, 1.0, 9, 1);
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      seen.add(TokenSampler.next(logits, top2, 0, i, 0));
    }
    assertEquals(Set.of(1, 3), seen, "top-k 2 keeps the two 5s");
    SamplingConfig nucleus = new SamplingConfig(false, 1.0, 0, 0.5, 9, 1);
    for (int i = 0; i < 100; i++) {
      int t = TokenSampler.next(logits, nucleus, 1, i, 0);
      assertTrue(t == 1 || t == 3, "top-p 0.5 keeps the most likely tokens only: " + t);
    }
    SamplingConfig all = new SamplingConfig(false, 1.0, 0, 1.0, 9, 1);
    assertEquals(TokenSampler.next(logits, all, 4, 17, 0), TokenSampler.next(logits, all, 4, 17, 0));
    Set<Integer> many = new HashSet<>();
    for (int i = 0; i < 400; i++) {
      many.add(TokenSampler.next(logits, all, 4, i, 0));
    }
    assertTrue(many.size() >= 4, "plain sampling reaches the other tokens: " + many);
  }
}
