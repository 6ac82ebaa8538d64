// Which provider runs the GRPO kernels for a tensor: the one registered for its device type, else on the CPU our
// native kernels (when the library loads, see GrpoKernels.backend) and the libtorch composites everywhere else (they
// run on any device libtorch supports).
package org.vlmr1.kernels;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.pytorch.Tensor;

/** The provider registry. Thread-safe. */
public final class KernelProviders {
  private static final Map<String, KernelProvider> REGISTERED = new ConcurrentHashMap<>();

  /** The libtorch composites (any device): the native kernels' oracle and fallback. */
  public static final KernelProvider COMPOSITE = new CompositeProvider();

  private KernelProviders() {}

  /**
   * Registers {@code provider} for a libtorch device type ("cuda", "meta", ...), replacing the default for it.
   *
   * @return the provider it replaces, or null
   */
  public static KernelProvider register(String deviceType, KernelProvider provider) {
    return provider == null ? REGISTERED.remove(key(deviceType)) : REGISTERED.put(key(deviceType), provider);
  }

  /** The provider for tensors on {@code t}'s device. */
  public static KernelProvider forTensor(Tensor t) {
    String type = deviceType(t);
    KernelProvider p = REGISTERED.get(type);
    if (p != null) {
      return p;
    }
    return type.equals("cpu") && GrpoKernels.backend() == KernelBackend.NATIVE ? NativeProvider.INSTANCE : COMPOSITE;
  }

  /** The device type of a tensor as libtorch names it ("cpu", "cuda", "meta", ...). */
  public static String deviceType(Tensor t) {
    String d = t.device().str().getString();
    int colon = d.indexOf(':');
    return key(colon < 0 ? d : d.substring(0, colon));
  }

  private static String key(String deviceType) {
    return deviceType.trim().toLowerCase(Locale.ROOT);
  }
}
