// Data-parallel gradient reduction (there is no DDP class in the preset, so this is ours): gradients are summed
// across ranks in buckets of about 25 MiB (DDP's default), each bucket one coalesced all-reduce of a flat buffer, after
// the backward pass and before clipping. A parameter that got no gradient on some ranks gets zeros there; one that
// got none anywhere stays gradient-less everywhere, so AdamW skips it as a single process would.
package org.vlmr1.distributed;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/** Sums the gradients of a fixed parameter list across a group. */
public final class GradientReducer {
  /** DDP's default bucket size. */
  public static final long BUCKET_BYTES = 25L << 20;
  private final List<Tensor> params;
  private final long bucketBytes;

  public GradientReducer(List<Tensor> params, long bucketBytes) {
    this.params = List.copyOf(params);
    if (bucketBytes < 1) {
      throw new IllegalArgumentException("bucket size must be positive");
    }
    this.bucketBytes = bucketBytes;
  }

  /** Sums every parameter's gradient across {@code group}; every rank ends with identical gradients. */
  public void reduce(Collectives group) {
    reduce(group, null);
  }

  /**
   * {@link #reduce} leaving out {@code skip} (a parameter whose gradient was already sent on its own, e.g. the LM
   * head overlapped with the backward pass).
   */
  public void reduce(Collectives group, Tensor skip) {
    if (group.worldSize() == 1) {
      return;
    }
    try (PointerScope s = new PointerScope()) {
      float[] has = new float[params.size()];
      for (int i = 0; i < has.length; i++) {
        has[i] = params.get(i).grad().defined() ? 1 : 0;
      }
      Tensor flags = torch.tensor(has);
      group.allReduceSum(flags, "the gradient presence all-reduce");
      flags.contiguous().data_ptr_float().get(has);
      List<Tensor> grads = new ArrayList<>();
      for (int i = 0; i < has.length; i++) {
        Tensor p = params.get(i);
        if (has[i] == 0) {
          continue;
        }
        if (!p.grad().defined()) {
          p.mutable_grad().put(torch.zeros_like(p));
        }
        if (skip != null && p.data_ptr().address() == skip.data_ptr().address()) {
          continue;
        }
        grads.add(p.grad());
      }
      for (List<Integer> bucket : Buckets.of(grads, bucketBytes)) {
        flush(bucket.stream().map(grads::get).toList(), group);
      }
    }
  }

  /** Benchmarks only: every gradient present (zeros where missing), then {@link #reduce}. */
  public void reduceAllForBench(Collectives group) {
    try (PointerScope s = new PointerScope()) {
      for (Tensor p : params) {
        if (!p.grad().defined()) {
          p.mutable_grad().put(torch.zeros_like(p));
        }
      }
    }
    reduce(group);
  }

  /** Bytes of all the parameters' gradients (what one step all-reduces). */
  public long gradientBytes() {
    long n = 0;
    for (Tensor p : params) {
      n += p.nbytes();
    }
    return n;
  }

  /** One all-reduce over the bucket's gradients flattened into one buffer, copied back in place. */
  private static void flush(List<Tensor> bucket, Collectives group) {
    TensorVector flat = new TensorVector();
    for (Tensor g : bucket) {
      flat.push_back(g.reshape(-1));
    }
    Tensor buf = torch.cat(flat, 0);
    group.allReduceSum(buf, "the gradient all-reduce");
    long off = 0;
    for (Tensor g : bucket) {
      long n = g.numel();
      g.copy_(buf.narrow(0, off, n).view_as(g));
      off += n;
    }
  }
}
