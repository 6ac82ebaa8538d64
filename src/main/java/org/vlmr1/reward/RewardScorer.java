// Scores completions with several reward functions on a thread pool, so scoring a large group never blocks the
// trainer's generation thread; the total is the weighted sum (VLM-R1 ignores reward_weights; we honour them).
package org.vlmr1.reward;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** Parallel scoring of a batch with several reward functions. Close it to stop its threads. */
public final class RewardScorer implements AutoCloseable {
  private final List<RewardFunction> functions;
  private final double[] weights;
  private final ExecutorService pool;

  /**
   * Refuses a NaN or infinite weight, naming it: it would make every total non-finite, so training would skip every
   * step and score would write "NaN" totals.
   */
  public static void checkWeights(double[] weights) {
    if (weights != null) {
      for (double w : weights) {
        if (!Double.isFinite(w)) {
          throw new IllegalArgumentException("--reward_weights must be finite numbers, got " + w);
        }
      }
    }
  }

  /** Scores of a batch: {@code perFunction[f][i]} and the weighted {@code total[i]}. */
  public record Scores(double[][] perFunction, double[] total) {}

  /**
   * @param weights one per function, or null for all 1.0 (VLM-R1's unweighted sum)
   * @param threads pool size (e.g. the available processors)
   */
  public RewardScorer(List<RewardFunction> functions, double[] weights, int threads) {
    if (functions.isEmpty()) {
      throw new IllegalArgumentException("no reward functions");
    }
    if (weights != null && weights.length != functions.size()) {
      throw new IllegalArgumentException(weights.length + " reward weights for " + functions.size() + " functions");
    }
    checkWeights(weights);
    this.functions = List.copyOf(functions);
    this.weights = weights != null ? weights.clone() : filled(functions.size());
    AtomicInteger n = new AtomicInteger();
    ThreadFactory tf = r -> {
      Thread t = new Thread(r, "vlmr1-reward-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
    this.pool = Executors.newFixedThreadPool(Math.max(1, threads), tf);
  }

  private static double[] filled(int n) {
    double[] w = new double[n];
    java.util.Arrays.fill(w, 1.0);
    return w;
  }

  public List<RewardFunction> functions() {
    return functions;
  }

  /** Starts scoring; the future completes with every function's scores and the weighted totals. */
  public CompletableFuture<Scores> submit(List<RewardSample> samples) {
    int chunk = Math.max(1, (samples.size() + 63) / 64);
    List<CompletableFuture<Void>> parts = new ArrayList<>();
    double[][] per = new double[functions.size()][samples.size()];
    for (int f = 0; f < functions.size(); f++) {
      RewardFunction fn = functions.get(f);
      double[] out = per[f];
      for (int start = 0; start < samples.size(); start += chunk) {
        int from = start;
        int to = Math.min(samples.size(), start + chunk);
        parts.add(CompletableFuture.runAsync(() -> {
          for (int i = from; i < to; i++) {
            out[i] = fn.score(samples.get(i));
          }
        }, pool));
      }
    }
    return CompletableFuture.allOf(parts.toArray(new CompletableFuture[0])).thenApply(v -> {
      for (int f = 0; f < per.length; f++) {
        functions.get(f).scored(samples, per[f]);
      }
      double[] total = new double[samples.size()];
      for (int f = 0; f < per.length; f++) {
        for (int i = 0; i < total.length; i++) {
          total[i] += weights[f] * per[f][i];
        }
      }
      return new Scores(per, total);
    });
  }

  /** Scores and waits; a reward's exception (e.g. a {@link RewardDataException}) is rethrown as is. */
  public Scores score(List<RewardSample> samples) {
    try {
      return submit(samples).join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw e;
    }
  }

  /**
   * Every function's {@link RewardFunction#drainCounters}, summed by key, in key order (the same order on every rank
   * of a data-parallel run, which all-reduces them as one vector).
   */
  public Map<String, Long> drainCounters() {
    Map<String, Long> out = new TreeMap<>();
    for (RewardFunction fn : functions) {
      fn.drainCounters().forEach((k, v) -> out.merge(k, v, Long::sum));
    }
    return out;
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
