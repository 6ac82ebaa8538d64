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
  private volatile boolean said;

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
    return new CudaKernelChoice(() -> {
      if (CudaKernelChoice.class.getResource(GPU_LIBRARY) == null
          && !System.getProperty("vlmr1.kernels", "auto").trim().equalsIgnoreCase("native")) {
        // the CPU flavour, the normal case on a machine without a GPU: say so rather than print a linker error
        return new NativeLibraries.Choice(KernelBackend.COMPOSITE, "this build has no -gpu natives: the CPU flavour");
      }
      return NativeLibraries.choose("org.vlmr1.kernels.CudaNative", "CUDA kernels", "", false);
    }, msg -> LOG.log(System.Logger.Level.INFO, msg));
  }

  /** Where the -gpu classifier jar (or mvn -Pgpu's classes) holds CudaNative's JNI library. */
  private static final String GPU_LIBRARY = "/org/vlmr1/kernels/" + org.bytedeco.javacpp.Loader.getPlatform()
      + "-gpu/" + System.mapLibraryName("jniCudaNative");

  /** The provider for CUDA tensors (loads the -gpu natives on the first call); says the choice once. */
  KernelProvider provider() {
    KernelProvider p = decided();
    if (!said) {
      synchronized (this) {
        if (!said) {
          say.accept(line);
          said = true;
        }
      }
    }
    return p;
  }

  /** Whether the -gpu natives loaded (deciding, without saying: doctor prints the line itself). */
  boolean loaded() {
    return decided() == CudaProvider.INSTANCE;
  }

  /** The line said when the choice is used (deciding if needed, without saying it): for doctor. */
  String describe() {
    decided();
    return line;
  }

  private KernelProvider decided() {
    if (provider == null) {
      synchronized (this) {
        if (provider == null) {
          NativeLibraries.Choice c = load.get();
          KernelProvider p = c.backend() == KernelBackend.NATIVE ? CudaProvider.INSTANCE : KernelProviders.COMPOSITE;
          line = p == KernelProviders.COMPOSITE
              ? "vlmr1: tensors on CUDA run the libtorch composites on their device (" + c.reason() + ")"
              : "vlmr1: tensors on CUDA run our CUDA kernels, " + p.describe();
          provider = p;
        }
      }
    }
    return provider;
  }
}
