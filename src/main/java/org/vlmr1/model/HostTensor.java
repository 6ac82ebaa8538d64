// A tensor copied to the Java heap, so a rollout's multimodal inputs outlive the PointerScope that made them and come
// back as fresh tensors for each later pass (policy, reference, old log-probs) without the trainer knowing the family.
package org.vlmr1.model;

import org.vlmr1.kernels.Devices;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.TensorChecks;

/**
 * A float32 or int64 tensor's shape and values.
 *
 * @param floats the values of a floating tensor (kept as float32), else null
 * @param longs the values of an integer tensor (kept as int64), else null
 */
public record HostTensor(long[] shape, float[] floats, long[] longs) {
  public HostTensor {
    if ((floats == null) == (longs == null)) {
      throw new IllegalArgumentException("a host tensor holds either floats or longs");
    }
  }

  public static HostTensor of(Tensor t) {
    long[] shape = t.sizes().vec().get();
    if (t.is_floating_point()) {
      Tensor c = Devices.host(t).to(ScalarType.Float).contiguous();
      float[] v = new float[(int) c.numel()];
      if (v.length > 0) { // an empty tensor (no images in the batch) has no data pointer
        c.data_ptr_float().get(v);
      }
      return new HostTensor(shape, v, null);
    }
    return new HostTensor(shape, null, TensorChecks.longs(t));
  }

  /** A new tensor (owned by the caller's PointerScope). */
  public Tensor toTensor() {
    return (floats != null ? torch.tensor(floats) : torch.tensor(longs)).reshape(shape);
  }

  /** Every tensor of a map, in order. */
  public static Map<String, HostTensor> of(Map<String, Tensor> m) {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, of(v)));
    return out;
  }

  /** New tensors for every entry, in order. */
  public static Map<String, Tensor> toTensors(Map<String, HostTensor> m) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, v.toTensor()));
    return out;
  }
}
