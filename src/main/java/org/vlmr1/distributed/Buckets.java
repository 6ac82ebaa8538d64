// Bucketing for coalesced collectives: consecutive tensors grouped until a bucket would pass the byte budget or the
// dtype changes (one flat buffer per bucket needs one dtype), as DDP's buckets.
package org.vlmr1.distributed;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Splits a tensor list into buckets of consecutive indices. */
final class Buckets {
  private Buckets() {}

  /**
   * Indices of {@code tensors} in order, grouped: a bucket closes before a tensor that would take it past
   * {@code bucketBytes} or that has another dtype; a tensor larger than the budget gets a bucket of its own.
   */
  static List<List<Integer>> of(List<Tensor> tensors, long bucketBytes) {
    List<List<Integer>> out = new ArrayList<>();
    List<Integer> bucket = new ArrayList<>();
    long bytes = 0;
    ScalarType dtype = null;
    for (int i = 0; i < tensors.size(); i++) {
      ScalarType dt = tensors.get(i).scalar_type().intern();
      long b = tensors.get(i).nbytes();
      if (!bucket.isEmpty() && (bytes + b > bucketBytes || dt != dtype)) {
        out.add(bucket);
        bucket = new ArrayList<>();
        bytes = 0;
      }
      bucket.add(i);
      bytes += b;
      dtype = dt;
    }
    if (!bucket.isEmpty()) {
      out.add(bucket);
    }
    return out;
  }
}
