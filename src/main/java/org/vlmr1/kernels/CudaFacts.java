// What this process's libtorch says about CUDA, read without touching the -gpu-only classes of the preset (they
// cannot load in the CPU flavour): whether libtorch was built with CUDA, how many devices it sees, and the versions
// it reports.
package org.vlmr1.kernels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.pytorch.global.torch;

/**
 * @param builtWithCuda libtorch has its CUDA backend (the pytorch preset's -gpu build)
 * @param deviceCount CUDA devices libtorch sees (0 without CUDA)
 * @param cudaRuntime the CUDA runtime version libtorch reports (e.g. "13.1"), or null
 * @param cudnn cuDNN's version, or null
 * @param driver the NVIDIA driver version from /proc/driver/nvidia/version, or null
 */
public record CudaFacts(boolean builtWithCuda, int deviceCount, String cudaRuntime, String cudnn, String driver) {
  public CudaFacts {
    if (deviceCount < 0 || (!builtWithCuda && deviceCount > 0)) {
      throw new IllegalArgumentException("CUDA devices " + deviceCount + " with builtWithCuda " + builtWithCuda);
    }
  }

  /** Asks the loaded libtorch (loads it first). */
  public static CudaFacts probe() {
    TorchRuntime.load();
    boolean built = torch.hasCUDA();
    if (!built) {
      return new CudaFacts(false, 0, null, null, driverVersion());
    }
    int count = Math.max(0, torch.cuda_device_count());
    String rt = null;
    String dnn = null;
    try {
      rt = cudaVersion(torch.getCUDAHooks().versionCUDART());
      dnn = torch.cudnn_is_available() ? cudnnVersion(torch.getCUDAHooks().versionCuDNN()) : null;
    } catch (RuntimeException e) {
      // libtorch's hooks throw when the CUDA runtime cannot initialise; the device count already says so
    }
    return new CudaFacts(true, count, rt, dnn, driverVersion());
  }

  /** cudaRuntimeGetVersion's integer, 1000 * major + 10 * minor: 13010 is "13.1"; null for 0. */
  static String cudaVersion(long v) {
    return v <= 0 ? null : v / 1000 + "." + v / 10 % 100;
  }

  /** CUDNN_VERSION: 10000 * major + 100 * minor + patch from cuDNN 9 (91900 is "9.19.0"), 1000 * major before. */
  static String cudnnVersion(long v) {
    if (v <= 0) {
      return null;
    }
    return v >= 90000 ? v / 10000 + "." + v / 100 % 100 + "." + v % 100
        : v / 1000 + "." + v / 100 % 10 + "." + v % 100;
  }

  /** "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05 ..." gives "580.95.05"; null without a driver. */
  static String driverVersion() {
    Path p = Path.of("/proc/driver/nvidia/version");
    try {
      if (!Files.isReadable(p)) {
        return null;
      }
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("Kernel Module\\s+([0-9][0-9.]*)")
          .matcher(Files.readString(p));
      return m.find() ? m.group(1) : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** One line: "this libtorch build has no CUDA", "no CUDA device visible" or "2 CUDA devices, CUDA 13.1". */
  public String summary() {
    if (!builtWithCuda) {
      return "this libtorch build has no CUDA";
    }
    if (deviceCount == 0) {
      return "libtorch has CUDA but sees no CUDA device";
    }
    return deviceCount + " CUDA device" + (deviceCount == 1 ? "" : "s") + (cudaRuntime != null ? ", CUDA "
        + cudaRuntime : "");
  }
}
