// The --device flag of train, sft, eval, generate and forward: what the user asked for (cpu, cuda, cuda:N, auto),
// checked when parsed, and resolved against what this process's libtorch can reach (CudaFacts).
package org.vlmr1.kernels;

import java.util.Locale;

/**
 * A requested compute device.
 *
 * @param kind cpu, cuda or auto
 * @param index the CUDA device for {@link Kind#CUDA} (0 for a bare "cuda"); 0 otherwise
 */
public record DeviceSpec(Kind kind, int index) {
  /** The spellings --device accepts, for messages. */
  public static final String ACCEPTED = "cpu, cuda, cuda:N (N >= 0) or auto";

  /** The kinds of device request. */
  public enum Kind {
    CPU,
    CUDA,
    /** cuda:0 when libtorch reports a CUDA device, else cpu. */
    AUTO
  }

  public DeviceSpec {
    if (kind == null) {
      throw new IllegalArgumentException("device kind is null; --device takes " + ACCEPTED);
    }
    if (index < 0 || (kind != Kind.CUDA && index != 0)) {
      throw new IllegalArgumentException("device index " + index + " for " + kind + "; --device takes " + ACCEPTED);
    }
  }

  public static final DeviceSpec CPU = new DeviceSpec(Kind.CPU, 0);

  /** Parses "cpu", "cuda", "cuda:N" or "auto" (any case, surrounding blanks ignored). */
  public static DeviceSpec parse(String text) {
    String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    switch (s) {
      case "cpu":
        return CPU;
      case "auto":
        return new DeviceSpec(Kind.AUTO, 0);
      case "cuda":
        return new DeviceSpec(Kind.CUDA, 0);
      default:
        break;
    }
    if (s.startsWith("cuda:")) {
      String n = s.substring(5);
      if (n.matches("[0-9]{1,3}")) {
        return new DeviceSpec(Kind.CUDA, Integer.parseInt(n));
      }
    }
    throw new IllegalArgumentException("--device takes " + ACCEPTED + ", got '" + text + "'");
  }

  /**
   * The device to run on, given what libtorch reaches.
   *
   * @throws IllegalArgumentException for cuda[:N] when this libtorch build has no CUDA, sees no device, or has no
   *     device N (the message names which)
   */
  public Resolved resolve(CudaFacts cuda) {
    switch (kind) {
      case CPU:
        return new Resolved("cpu", 0, "cpu");
      case AUTO:
        return cuda.deviceCount() > 0 ? new Resolved("cuda", 0, "auto: cuda:0 (" + cuda.summary() + ")")
            : new Resolved("cpu", 0, "auto: cpu (" + cuda.summary() + ")");
      default:
        String asked = "--device " + (index == 0 ? "cuda" : "cuda:" + index);
        if (!cuda.builtWithCuda()) {
          throw new IllegalArgumentException(asked + ": " + MissingLibraries.noCudaReason(
              MissingLibraries.loadedLibtorchCpu()) + "; install the -gpu flavour (platform/gpu: pytorch "
              + "linux-x86_64-gpu, with an NVIDIA driver, CUDA 13.x, cuDNN 9 and NCCL 2) or use --device cpu");
        }
        if (cuda.deviceCount() == 0) {
          throw new IllegalArgumentException(asked + ": libtorch has CUDA but sees no CUDA device (no NVIDIA driver, "
              + "or CUDA_VISIBLE_DEVICES hides them); use --device cpu");
        }
        if (index >= cuda.deviceCount()) {
          throw new IllegalArgumentException(asked + ": no CUDA device " + index + "; this machine has "
              + cuda.deviceCount() + " (cuda:0" + (cuda.deviceCount() > 1 ? " to cuda:" + (cuda.deviceCount() - 1)
              : "") + ")");
        }
        return new Resolved("cuda", index, "cuda:" + index);
    }
  }

  /**
   * A device this process can run on.
   *
   * @param type libtorch's device type name, "cpu" or "cuda" (KernelProviders.deviceType's spelling)
   * @param index the CUDA device index (0 for the CPU)
   * @param how one line on how it was chosen, e.g. "auto: cpu (this libtorch build has no CUDA)"
   */
  public record Resolved(String type, int index, String how) {
    public Resolved {
      if (!type.equals("cpu") && !type.equals("cuda")) {
        throw new IllegalArgumentException("device type must be cpu or cuda, got " + type);
      }
    }

    public boolean isCuda() {
      return type.equals("cuda");
    }

    /** libtorch's device. */
    public org.bytedeco.pytorch.Device device() {
      return isCuda() ? new org.bytedeco.pytorch.Device(org.bytedeco.pytorch.global.torch.DeviceType.CUDA,
          (byte) index) : new org.bytedeco.pytorch.Device(org.bytedeco.pytorch.global.torch.DeviceType.CPU);
    }

    /** "cpu" or "cuda:N". */
    @Override
    public String toString() {
      return isCuda() ? "cuda:" + index : "cpu";
    }
  }
}
