// Where this rank's completions sit in an optimizer step's global stream (accelerate's slicing: per-device batch j goes
// to rank j % W as its micro-batch j / W), and the float64 sums that gather rewards and reduce metrics across ranks.
package org.vlmr1.trainer;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.distributed.Collectives;
import org.vlmr1.reward.RewardScorer;

/**
 * One rank's view of a step.
 *
 * @param micro completions per micro-batch; gas micro-batches per rank and step
 */
record RankLayout(int worldSize, int rank, int micro, int gas) {
  int globalBatch() {
    return micro * worldSize * gas;
  }

  /** Global position of this rank's row i of micro-batch m in the step's stream. */
  int globalIndex(int m, int i) {
    return (m * worldSize + rank) * micro + i;
  }

  /** This rank's scores placed at their global positions, summed over ranks (exact: one contributor per entry). */
  RewardScorer.Scores gather(RewardScorer.Scores local, Collectives dist) {
    int f = local.perFunction().length;
    double[][] rows = new double[f + 1][];
    System.arraycopy(local.perFunction(), 0, rows, 0, f);
    rows[f] = local.total();
    double[][] all = gatherRows(rows, dist);
    return new RewardScorer.Scores(Arrays.copyOf(all, f), all[f]);
  }

  /**
   * Each row holds one value per completion of this rank (its micro-batches, in order); returns the rows over the
   * step's global stream, every rank's values at their global positions, in one all-reduce.
   */
  double[][] gatherRows(double[][] local, Collectives dist) {
    if (worldSize == 1) {
      return local;
    }
    int n = globalBatch();
    double[] buf = new double[local.length * n];
    for (int m = 0; m < gas; m++) {
      for (int i = 0; i < micro; i++) {
        int g = globalIndex(m, i);
        int l = m * micro + i;
        for (int k = 0; k < local.length; k++) {
          buf[k * n + g] = local[k][l];
        }
      }
    }
    double[] all = reduceSum(buf, dist, "the reward all-gather");
    double[][] out = new double[local.length][];
    for (int k = 0; k < local.length; k++) {
      out[k] = Arrays.copyOfRange(all, k * n, (k + 1) * n);
    }
    return out;
  }

  /** This rank's advantages (its micro-batches, in order) out of the step's global advantages. */
  float[] localSlice(Tensor globalAdv) {
    float[] all = new float[(int) globalAdv.numel()];
    org.vlmr1.kernels.Devices.host(globalAdv).contiguous().data_ptr_float().get(all);
    return localSlice(all);
  }

  /** This rank's values (its micro-batches, in order) out of the step's global ones. */
  float[] localSlice(float[] all) {
    float[] out = new float[gas * micro];
    for (int m = 0; m < gas; m++) {
      for (int i = 0; i < micro; i++) {
        out[m * micro + i] = all[globalIndex(m, i)];
      }
    }
    return out;
  }

  /**
   * The reward functions' counters summed over ranks, in the given key order (every rank has the same keys: each
   * function's are fixed, and {@link RewardScorer#drainCounters} sorts them). Nothing is sent when there are none.
   */
  Map<String, Double> reduceCounters(Map<String, Long> local, Collectives dist) {
    if (local.isEmpty()) {
      return Map.of();
    }
    double[] sums = local.values().stream().mapToDouble(Long::doubleValue).toArray();
    sums = reduceSum(sums, dist, "the reward-counter all-reduce");
    Map<String, Double> out = new LinkedHashMap<>();
    int k = 0;
    for (String key : local.keySet()) {
      out.put(key, sums[k++]);
    }
    return out;
  }

  /** Element-wise sum over ranks (float64, so reward and metric sums are exact for one contributor per entry). */
  double[] reduceSum(double[] v, Collectives dist, String what) {
    if (worldSize == 1) {
      return v;
    }
    try (PointerScope s = new PointerScope()) {
      Tensor t = torch.empty(new long[] {v.length}, new TensorOptions(torch.ScalarType.Double), null);
      t.data_ptr_double().put(v);
      dist.allReduceSum(t, what);
      double[] out = new double[v.length];
      t.contiguous().data_ptr_double().get(out);
      return out;
    }
  }
}
