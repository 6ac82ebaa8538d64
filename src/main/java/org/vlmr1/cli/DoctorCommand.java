// bin/vlmr1 doctor: where libtorch and our kernels were loaded from, which backend runs, and a numeric self-check of
// every native kernel family (GRPO loss, Qwen patches, InternVL tiles) against its reference.
package org.vlmr1.cli;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.Loader;
import org.vlmr1.kernels.CudaFacts;
import org.vlmr1.kernels.GrpoKernels;
import org.vlmr1.kernels.ImageKernels;
import org.vlmr1.kernels.KernelBackend;
import org.vlmr1.kernels.KernelProviders;
import org.vlmr1.kernels.MissingLibraries;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.util.NativeProcess;

/** Environment report and kernel self-check. */
final class DoctorCommand implements Command {
  @Override
  public String name() {
    return "doctor";
  }

  @Override
  public String summary() {
    return "report the platform, where libtorch and the kernels load from, and self-check the kernels";
  }

  @Override
  public List<FlagSpec> flags() {
    return List.of(FlagSpec.bool("expect_native", "exit 1 unless the native kernels are in use"));
  }

  @Override
  public int run(Flags flags) throws Exception {
    TorchRuntime.load();
    KernelBackend backend = GrpoKernels.backend(); // loads the native library when it can
    KernelBackend imageBackend = ImageKernels.backend(); // its own JNI library, so decided separately
    boolean cudaKernels = KernelProviders.cudaKernelsLoaded(); // the -gpu natives, when this is the -gpu flavour
    System.out.println("platform      " + Loader.getPlatform() + ", Java " + System.getProperty("java.version")
        + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
    System.out.println("javacpp cache " + Loader.getCacheDir());
    for (String lib : new String[] {"libtorch_cpu", "libgomp", "libjniGrpoNative", "libjniImageNative",
        "libjniCudaNative"}) {
      List<Path> paths = TorchRuntime.mappedLibraries(lib);
      System.out.println(String.format("%-13s %s", lib, paths.isEmpty() ? "(not loaded)" : paths));
    }
    System.out.println("kernels       " + GrpoKernels.describeBackend());
    System.out.println("image kernels " + (imageBackend == KernelBackend.NATIVE ? "native" : "Java reference"));
    CudaFacts cuda = CudaFacts.probe();
    cudaLines(cuda, cudaKernels).forEach(System.out::println);
    System.out.println("cuda kernels  " + KernelProviders.describeCuda().replaceFirst("^vlmr1: ", ""));
    String hint = org.vlmr1.kernels.TorchRuntime.threadEnvHint();
    System.out.println("threads       " + org.bytedeco.pytorch.global.torch.get_num_threads() + " intra-op, "
        + (hint == null ? String.join(", ", TorchRuntime.THREAD_ENV.keySet().stream().sorted()
            .map(k -> k + "=" + NativeProcess.getenv(k)).toList()) : hint));
    boolean ok = true;
    List<KernelSelfCheck> checks = new java.util.ArrayList<>(KernelSelfCheck.runAll());
    checks.addAll(KernelSelfCheck.cuda(cuda));
    for (KernelSelfCheck check : checks) {
      System.out.println(check.line());
      ok &= check.ok();
    }
    if (!ok) {
      return 1;
    }
    if (flags.getBoolean("expect_native") && backend != KernelBackend.NATIVE) {
      System.err.println("vlmr1: the native kernels are not in use");
      return 1;
    }
    return 0;
  }

  /**
   * The CUDA lines of the report: devices libtorch sees, the driver and library versions when there are any, and
   * which natives loaded (our CPU kernels are reported above; these are the -gpu ones).
   */
  static List<String> cudaLines(CudaFacts cuda, boolean cudaKernels) {
    List<String> out = new java.util.ArrayList<>();
    out.add("cuda          " + (cuda.builtWithCuda() ? "libtorch built with CUDA" + (cuda.cudaRuntime() != null
        ? " (runtime " + cuda.cudaRuntime() + ")" : "") : "none: "
        + MissingLibraries.noCudaReason(MissingLibraries.loadedLibtorchCpu())));
    out.add("cuda devices  " + (cuda.deviceCount() == 0 ? "no CUDA device" : cuda.deviceCount() + " (cuda:0"
        + (cuda.deviceCount() > 1 ? " to cuda:" + (cuda.deviceCount() - 1) : "") + ")"));
    out.add("nvidia driver " + (cuda.driver() != null ? cuda.driver() : "not found (/proc/driver/nvidia/version)"));
    out.add("cudnn         " + (cuda.cudnn() != null ? cuda.cudnn() : "not available"));
    out.add("-gpu natives  " + (cudaKernels ? "loaded (libjniCudaNative)" : "not loaded (no -gpu natives: tensors "
        + "on CUDA would run the libtorch composites)"));
    return out;
  }
}
