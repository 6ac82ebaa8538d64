// Placement on the --device: moving a tensor onto a device once (weights, adapters, a batch), and the tensors the
// model creates itself (decode tokens and masks, rotary tables, index tensors) made on the device of what they meet.
package org.vlmr1.kernels;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/** Moves tensors onto a device. */
public final class Devices {
  private Devices() {}

  /** libtorch's name of a device: "cpu", "cuda:1", "meta". */
  public static String name(Device d) {
    return d.str().getString();
  }

  /** Whether {@code t} lies on {@code device} (any index of its type when the device names none, e.g. "lazy"). */
  public static boolean on(Tensor t, Device device) {
    Device d = t.device();
    return device.has_index() ? name(d).equals(name(device)) : d.type().intern() == device.type().intern();
  }

  /**
   * {@code t} itself when it is on {@code device} (so a CPU run keeps its very tensors), else a copy there that is a
   * leaf (no autograd history back to the host tensor) and requires grad when {@code t} did.
   */
  public static Tensor moved(Tensor t, Device device) {
    if (t == null || !t.defined() || on(t, device)) {
      return t;
    }
    Tensor out;
    try (NoGradGuard ng = new NoGradGuard()) {
      out = t.to(device, t.scalar_type());
    }
    if (t.requires_grad()) {
      out.requires_grad_(true);
    }
    return out;
  }

  /** {@code t} itself on the CPU, else its copy there: what a host read (data_ptr) needs. */
  public static Tensor host(Tensor t) {
    return on(t, cpu()) ? t : t.cpu();
  }

  /**
   * The CPU: a new Device each call (a static one would be freed by the first PointerScope that sees it created).
   */
  public static Device cpu() {
    return new Device(org.bytedeco.pytorch.global.torch.DeviceType.CPU);
  }

  /** Every tensor of {@code named} moved onto {@code device} ({@link #moved}), in the same order. */
  public static Map<String, Tensor> moved(Map<String, Tensor> named, Device device) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    named.forEach((k, v) -> out.put(k, moved(v, device)));
    return out;
  }
}
