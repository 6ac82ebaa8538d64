// ZeRO stage 1 (optimizer-state sharding): each rank keeps and updates the AdamW state of its own share of the
// parameters, then every parameter is sent from its owner to all ranks. AdamW is element-wise, so the parameters are
// exactly those of the unsharded run, while each rank holds about 1/W of the optimizer state (2 floats per parameter:
// what keeps a 7B policy's optimizer from fitting on one device).
package org.vlmr1.distributed;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/** Which rank owns which parameter, and the parameter all-gather after the sharded step. */
public final class OptimizerSharding {
  private final List<Tensor> params;
  private final int[] owner;
  private final int rank;

  /**
   * Assigns whole parameters to ranks, largest first to the least-loaded rank (ties to the lower rank), so every rank
   * derives the same assignment.
   */
  public OptimizerSharding(List<Tensor> params, int rank, int worldSize) {
    this.params = List.copyOf(params);
    this.rank = rank;
    this.owner = new int[params.size()];
    long[] load = new long[worldSize];
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < params.size(); i++) {
      order.add(i);
    }
    order.sort(Comparator.comparingLong((Integer i) -> -params.get(i).numel()).thenComparingInt(i -> i));
    for (int i : order) {
      int best = 0;
      for (int r = 1; r < worldSize; r++) {
        if (load[r] < load[best]) {
          best = r;
        }
      }
      owner[i] = best;
      load[best] += params.get(i).numel();
    }
  }

  /** Whether this rank owns (steps and keeps the optimizer state of) parameter {@code i} of the list it was given. */
  public boolean owns(int i) {
    return owner[i] == rank;
  }

  /**
   * Every parameter from its owner to all ranks: owners contribute the value, others zeros, summed in buckets
   * (exact: x + 0 = x).
   */
  public void gatherParameters(Collectives group) {
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (List<Integer> bucket : Buckets.of(params, GradientReducer.BUCKET_BYTES)) {
        flush(bucket, group);
      }
    }
  }

  private void flush(List<Integer> bucket, Collectives group) {
    TensorVector parts = new TensorVector();
    for (int i : bucket) {
      Tensor p = params.get(i).detach();
      parts.push_back(owner[i] == rank ? p.reshape(-1) : torch.zeros_like(p).reshape(-1));
    }
    Tensor buf = torch.cat(parts, 0);
    group.allReduceSum(buf, "the ZeRO-1 parameter all-gather");
    long off = 0;
    for (int i : bucket) {
      Tensor p = params.get(i);
      long n = p.numel();
      if (owner[i] != rank) {
        p.detach().copy_(buf.narrow(0, off, n).view_as(p));
      }
      off += n;
    }
  }
}
