// Which provider runs the GRPO kernels for a tensor: the one registered for its device type, else on the CPU our
// native kernels (when the library loads, see GrpoKernels.backend), on CUDA our CUDA twins (when the -gpu natives
// load, see CudaKernelChoice), and the libtorch composites everywhere else (they run on any device libtorch
// supports, so a tensor is never copied to another device to run a kernel).
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

  private static final CudaKernelChoice CUDA = CudaKernelChoice.forProcess();

  /** The provider for tensors on {@code t}'s device. */
  public static KernelProvider forTensor(Tensor t) {
    return forDeviceType(deviceType(t));
  }

  /** The provider for tensors of a libtorch device type ("cpu", "cuda", ...). */
  public static KernelProvider forDeviceType(String deviceType) {
    String type = key(deviceType);
    KernelProvider p = REGISTERED.get(type);
    if (p != null) {
      return p;
    }
    switch (type) {
      case "cpu":
        return GrpoKernels.backend() == KernelBackend.NATIVE ? NativeProvider.INSTANCE : COMPOSITE;
      case "cuda":
        return CUDA.provider();
      default:
        return COMPOSITE;
    }
  }

  /**
   * One line on what runs tensors on CUDA (loads the -gpu natives when present): for doctor. With
   * -Dvlmr1.kernels=native and no -gpu natives it says so instead of throwing (a CUDA tensor would throw).
   */
  public static String describeCuda() {
    try {
      return CUDA.describe();
    } catch (IllegalStateException e) {
      return e.getMessage();
    }
  }

  /** Whether our CUDA kernels (the -gpu natives) are loaded and run tensors on CUDA. */
  public static boolean cudaKernelsLoaded() {
    try {
      return CUDA.loaded();
    } catch (IllegalStateException e) {
      return false; // -Dvlmr1.kernels=native without the -gpu natives
    }
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
