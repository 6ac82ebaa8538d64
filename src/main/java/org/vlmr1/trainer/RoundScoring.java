// Stage 2 of a GRPO step: this rank's rewards, gathered over ranks into the round's global order, group advantages
// over the whole round (a prompt's G completions may span ranks and optimizer steps), this rank's slice of them, and
// the per-step token counts DAPO normalises by; --log_completions writes each completion here. A prompt whose images
// failed to decode (--on_bad_sample skip) is skipped as a whole group, agreed on by every rank through the gather.
package org.vlmr1.trainer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.vlmr1.data.Example;
import org.vlmr1.distributed.Collectives;
import org.vlmr1.reward.RewardSample;
import org.vlmr1.reward.RewardScorer;

/** Scores a generation round. */
final class RoundScoring {
  private final GrpoConfig cfg;
  private final RewardScorer scorer;
  private final List<String> rewardNames;
  private final RankLayout layout; // this rank's micro-batches of a generation round (steps_per_generation of them)
  private final Collectives dist;
  private CompletionLog completionLog;  // --log_completions, else null

  RoundScoring(GrpoConfig cfg, RewardScorer scorer, List<String> rewardNames, Collectives dist) {
    this.cfg = cfg;
    this.scorer = scorer;
    this.rewardNames = rewardNames;
    this.layout = new RankLayout(cfg.worldSize(), dist.rank(), cfg.perDeviceTrainBatchSize(),
        cfg.stepsPerGeneration());
    this.dist = dist;
  }

  void logCompletions(CompletionLog log) {
    this.completionLog = log;
  }

  /**
   * @param rollouts this rank's micro-batches of the round
   * @param oldLogps rollout-time log-probs (numIterations > 1) or null, carried into the round
   * @param step the optimizer step generating the round (1-based, as metrics), for the completion log
   */
  Round score(List<Rollout> rollouts, float[][] oldLogps, int step) {
    List<RewardSample> samples = new ArrayList<>();
    List<Boolean> failed = new ArrayList<>();
    for (Rollout r : rollouts) {
      for (int i = 0; i < r.examples().size(); i++) {
        Example e = r.examples().get(i);
        failed.add(r.imageFailed()[i]);
        samples.add(new RewardSample(e.id(), r.texts().get(i), "<answer> " + e.solution() + " </answer>",
            e.problem(), e.images(), r.frames().get(i), e.accuRewardMethod(), e.fields()));
      }
    }
    // Rows whose images failed are not scored (a reward may read the image); their flags travel with the rewards.
    RewardScorer.Scores mine = scoreKept(samples, failed);
    int f = rewardNames.size();
    double[][] rows = Arrays.copyOf(mine.perFunction(), f + 2);
    rows[f] = mine.total();
    rows[f + 1] = failed.stream().mapToDouble(b -> b ? 1 : 0).toArray();
    double[][] all = layout.gatherRows(rows, dist);
    RewardScorer.Scores scores = new RewardScorer.Scores(Arrays.copyOf(all, f), all[f]);
    boolean[] skipped = SkippedGroups.expand(all[f + 1], cfg.numGenerations());
    Map<String, Double> counters = layout.reduceCounters(scorer.drainCounters(), dist); // llm_judge_fallbacks
    double[] totals = scores.total();
    boolean finite = Arrays.stream(totals).allMatch(Double::isFinite);
    float[] adv = new float[cfg.stepsPerGeneration() * cfg.perDeviceTrainBatchSize()];
    double rewardStd = 0;
    if (finite) {
      adv = layout.localSlice(SkippedGroups.advantages(totals, skipped, cfg.numGenerations(), cfg.scaleRewards()));
      rewardStd = GroupStats.groupStdMean(SkippedGroups.kept(totals, skipped), cfg.numGenerations());
    }
    boolean[] mineSkipped = maskSkipped(rollouts, skipped);
    if (completionLog != null) {
      logCompletions(rollouts, samples, mine, adv, mineSkipped, step);
    }
    return new Round(rollouts, scores, adv, rewardStd, finite, stepTokens(rollouts), oldLogps, counters, skipped,
        SkippedGroups.prompts(skipped, cfg.numGenerations()));
  }

  /** The rewards of the rows not failed, 0 at the failed ones. */
  private RewardScorer.Scores scoreKept(List<RewardSample> samples, List<Boolean> failed) {
    if (!failed.contains(true)) {
      return scorer.score(samples);
    }
    List<RewardSample> kept = new ArrayList<>();
    for (int i = 0; i < samples.size(); i++) {
      if (!failed.get(i)) {
        kept.add(samples.get(i));
      }
    }
    RewardScorer.Scores s = scorer.score(kept);
    double[][] per = new double[rewardNames.size()][samples.size()];
    double[] total = new double[samples.size()];
    for (int i = 0, k = 0; i < samples.size(); i++) {
      if (!failed.get(i)) {
        for (int fn = 0; fn < per.length; fn++) {
          per[fn][i] = s.perFunction()[fn][k];
        }
        total[i] = s.total()[k++];
      }
    }
    return new RewardScorer.Scores(per, total);
  }

  /**
   * Zeroes the completion mask of this rank's rows in skipped groups (so no loss, token count or DAPO normaliser
   * sees them); returns which of this rank's rows those are.
   */
  private boolean[] maskSkipped(List<Rollout> rollouts, boolean[] skipped) {
    int micro = cfg.perDeviceTrainBatchSize();
    boolean[] mine = new boolean[rollouts.size() * micro];
    for (int m = 0; m < rollouts.size(); m++) {
      for (int i = 0; i < micro; i++) {
        if (skipped[layout.globalIndex(m, i)]) {
          Arrays.fill(rollouts.get(m).completionMask()[i], 0L);
          mine[m * micro + i] = true;
        }
      }
    }
    return mine;
  }

  /** Unmasked completion tokens of each optimizer step of the round over every rank: DAPO's normaliser. */
  private long[] stepTokens(List<Rollout> rollouts) {
    double[] local = new double[cfg.stepsPerRound()];
    for (int m = 0; m < rollouts.size(); m++) {
      for (long[] row : rollouts.get(m).completionMask()) {
        for (long v : row) {
          local[m / cfg.gradientAccumulationSteps()] += v;
        }
      }
    }
    double[] all = layout.reduceSum(local, dist, "the token-count all-reduce");
    long[] out = new long[all.length];
    for (int k = 0; k < all.length; k++) {
      out[k] = Math.round(all[k]);
    }
    return out;
  }

  /** --log_completions: this rank's completions of the round, with their rewards and advantages. */
  private void logCompletions(List<Rollout> rollouts, List<RewardSample> samples, RewardScorer.Scores local,
      float[] adv, boolean[] skipped, int step) {
    long[] index = new long[samples.size()];
    List<String> prompts = new ArrayList<>();
    int k = 0;
    for (Rollout r : rollouts) {
      for (int i = 0; i < r.examples().size(); i++) {
        index[k++] = r.firstSample() + i;
      }
      prompts.addAll(r.prompts());
    }
    completionLog.append(step, index, prompts, samples.stream().map(RewardSample::completion).toList(),
        rewardNames, local.perFunction(), local.total(), adv, skipped);
  }
}
