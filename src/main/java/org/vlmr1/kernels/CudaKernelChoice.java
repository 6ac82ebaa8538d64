// Which provider runs the GRPO kernels on tensors on CUDA devices: our CUDA twins when the -gpu natives load, else
// the libtorch composites on the same device (never a copy to the CPU). Decided on the first CUDA tensor and said in
// one log line, whichever it is.
package org.vlmr1.kernels;

import java.util.function.Consumer;
import java.util.function.Supplier;

/** The once-per-process decision for CUDA tensors (KernelProviders holds the process's one). Thread-safe. */
final class CudaKernelChoice {
  private static final System.Logger LOG = System.getLogger(KernelProviders.class.getName());

  private final Supplier<NativeLibraries.Choice> load;
  private final Consumer<String> say;
  private volatile KernelProvider provider;
  private volatile String line;

  /**
   * @param load loads CudaNative (NativeLibraries.choose) and says whether it worked
   * @param say where the one line goes
   */
  CudaKernelChoice(Supplier<NativeLibraries.Choice> load, Consumer<String> say) {
    this.load = load;
    this.say = say;
  }

  /** The process's choice: CudaNative through NativeLibraries (-Dvlmr1.kernels applies), said at INFO level. */
  static CudaKernelChoice forProcess() {
    return new CudaKernelChoice(() -> NativeLibraries.choose("org.vlmr1.kernels.CudaNative", "CUDA kernels",
        "", false), msg -> LOG.log(System.Logger.Level.INFO, msg));
  }

  /** The provider for CUDA tensors (loads the -gpu natives on the first call). */
  KernelProvider provider() {
    if (provider == null) {
      synchronized (this) {
        if (provider == null) {
          NativeLibraries.Choice c = load.get();
          KernelProvider p = c.backend() == KernelBackend.NATIVE ? CudaProvider.INSTANCE : KernelProviders.COMPOSITE;
          line = p == KernelProviders.COMPOSITE
              ? "vlmr1: tensors on CUDA run the libtorch composites on their device (" + c.reason() + ")"
              : "vlmr1: tensors on CUDA run our CUDA kernels, " + p.describe();
          say.accept(line);
          provider = p;
        }
      }
    }
    return provider;
  }

  /** The line said when the choice was made (making it if needed): for doctor. */
  String describe() {
    provider();
    return line;
  }
}
