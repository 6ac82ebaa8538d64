// A prompt whose images failed to decode (--on_bad_sample skip) is skipped as a whole group by the round's scoring:
// its rows are not scored, get advantage 0 and completion mask 0, and leave the reward means, reward_std, token
// counts and the other groups' advantages (group and batch scaling) as if the prompt were not in the round.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.vlmr1.data.Example;
import org.vlmr1.distributed.SingleProcess;
import org.vlmr1.kernels.GrpoKernels;
import org.vlmr1.kernels.ScaleRewards;
import org.vlmr1.reward.RewardFunction;
import org.vlmr1.reward.RewardSample;
import org.vlmr1.reward.RewardScorer;

class RoundScoringTest {
  /** The completion text is its reward; a row that must not be scored says so, and parsing it fails the test. */
  static final RewardFunction VALUE = new RewardFunction() {
    @Override
    public String name() {
      return "value";
    }

    @Override
    public double score(RewardSample s) {
      return Double.parseDouble(s.completion());
    }
  };

  /**
   * reward_std is TRL's: the mean over groups of the unbiased (n - 1) group std. Groups {1, 0, 0, 1} (std
   * sqrt(1/3)) and {2, 2, 2, 2} (std 0) give sqrt(1/3) / 2; the biased std would give 0.25.
   */
  @Test
  void rewardStdIsTheMeanOfTheUnbiasedGroupStds() {
    assertEquals(Math.sqrt(1.0 / 3) / 2, GroupStats.groupStdMean(new float[] {1, 0, 0, 1, 2, 2, 2, 2}, 4), 1e-12);
    assertEquals(Math.sqrt(0.5), GroupStats.groupStdMean(new float[] {1, 0}, 2), 1e-12);
  }

  @Test
  void aSkippedPromptLeavesTheOtherGroupsAsIfItWereNotThere() {
    long seed = new Random().nextLong();
    System.out.println("RoundScoringTest seed " + seed);
    Random rnd = new Random(seed);
    int g = 2;
    int rows = 6; // groups {0,1} {2,3} {4,5}; row 2's image failed, so group {2,3} is skipped
    for (ScaleRewards scale : ScaleRewards.values()) {
      GrpoConfig cfg = GrpoConfig.builder().numGenerations(g).perDeviceTrainBatchSize(rows).scaleRewards(scale)
          .build();
      double[] reward = new double[rows];
      List<String> texts = new ArrayList<>();
      for (int i = 0; i < rows; i++) {
        reward[i] = i == 2 || i == 3 ? 0 : Math.round(rnd.nextDouble() * 1000) / 100.0;
        texts.add(i == 2 ? "not scored: its image failed" : String.valueOf(reward[i]));
      }
      long[][] mask = new long[rows][];
      long tokens = 0;
      for (int i = 0; i < rows; i++) {
        int len = 1 + rnd.nextInt(5);
        mask[i] = new long[5];
        Arrays.fill(mask[i], 0, len, 1L);
        tokens += i == 2 || i == 3 ? 0 : len;
      }
      boolean[] failed = new boolean[rows];
      failed[2] = true;
      Example e = new Example("x", "q", List.of(), "s", null, Map.of());
      List<List<org.vlmr1.util.InputFrame>> frames = new ArrayList<>();
      for (int i = 0; i < rows; i++) {
        frames.add(List.of());
      }
      Rollout r = new Rollout(java.util.Collections.nCopies(rows, e), 0, java.util.Collections.nCopies(rows, "p"),
          new long[rows][2], new long[rows][2], frames, Map.of(), new long[rows][5], mask, texts, failed);
      Round rd;
      try (RewardScorer scorer = new RewardScorer(List.of(VALUE), null, 1)) {
        rd = new RoundScoring(cfg, scorer, List.of("value"), SingleProcess.INSTANCE).score(List.of(r), null, 1);
      }
      assertEquals(1, rd.skippedPrompts(), scale.toString());
      assertArrayEquals(new boolean[] {false, false, true, true, false, false}, rd.skipped());
      assertEquals(0f, rd.adv()[2]);
      assertEquals(0f, rd.adv()[3]);
      for (int i : new int[] {2, 3}) {
        assertTrue(Arrays.stream(mask[i]).allMatch(v -> v == 0), "row " + i + "'s completion mask is 0");
      }
      assertEquals(tokens, rd.stepTokens()[0], "DAPO's normaliser and num_tokens leave the skipped rows out");
      assertEquals(4, rd.keptRows(0, rows));
      float[] kept = {(float) reward[0], (float) reward[1], (float) reward[4], (float) reward[5]};
      float[] alone = new float[4];
      try (PointerScope s = new PointerScope()) {
        Tensor a = GrpoKernels.groupAdvantages(torch.tensor(kept), g, scale).contiguous();
        a.data_ptr_float().get(alone);
      }
      assertArrayEquals(alone, new float[] {rd.adv()[0], rd.adv()[1], rd.adv()[4], rd.adv()[5]}, 0f,
          scale + ": the other groups' advantages are those of a round without the skipped prompt");
      assertEquals((reward[0] + reward[1] + reward[4] + reward[5]) / 4, rd.mean(rd.scores().total()), 1e-12);
      assertEquals(GroupStats.groupStdMean(kept, g), rd.rewardStd(), 0.0);
    }
  }
}
