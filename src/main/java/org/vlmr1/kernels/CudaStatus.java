// The CUDA kernels' C ABI returns a status code and keeps the message per thread (vlmr1_cuda.h); this turns both into
// the exceptions the CPU kernels throw, and rebuilds the CPU kernel's non-finite log-prob error, which a CUDA kernel
// can only count. Pure Java, so it is tested without a GPU.
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Status codes and errors of the CUDA kernels. */
final class CudaStatus {
  private CudaStatus() {}

  /**
   * Nothing for {@link CudaNative#OK}; otherwise the exception for {@code status}: an argument error (the message
   * starts with the kernel's name, as the CPU kernels' do) or a failed launch.
   *
   * @param lastError the library's message for this thread's last failure (vlmr1_cuda_last_error)
   */
  static RuntimeException error(int status, String kernel, String lastError) {
    String msg = lastError == null || lastError.isEmpty() ? "(no message)" : lastError;
    String named = msg.startsWith(kernel + ":") ? msg : kernel + ": " + msg;
    switch (status) {
      case CudaNative.OK:
        return null;
      case CudaNative.BAD_ARGUMENT:
        return new IllegalArgumentException(named);
      case CudaNative.LAUNCH_FAILED:
        return new IllegalStateException("CUDA launch failed in " + named);
      default:
        return new IllegalStateException("CUDA kernel returned unknown status " + status + " in " + named);
    }
  }

  /**
   * The CPU kernel's error (grpo_loss.cpp) for the first unmasked token whose policy, old or reference log-prob is
   * not finite, or null when there is none. Tensors may be on any device; only this error path reads them back.
   *
   * @param logps (B, T) float32 policy log-probs the kernel wrote
   * @param mask (B, T) float32, old and ref (B, T) or null, ids (B, T) int64
   */
  static String nonFiniteMessage(Tensor logps, Tensor mask, Tensor old, Tensor ref, Tensor ids) {
    Tensor bad = torch.isfinite(logps).logical_not();                                     // (B, T)
    if (old != null) {
      bad = bad.logical_or(torch.isfinite(old).logical_not());
    }
    if (ref != null) {
      bad = bad.logical_or(torch.isfinite(ref).logical_not());
    }
    long i = TensorChecks.firstTrue(bad.logical_and(mask.ne(new org.bytedeco.pytorch.Scalar(0))));
    if (i < 0) {
      return null;
    }
    long t = logps.size(1);
    return "grpo_loss: non-finite log-prob at unmasked token " + i + " (sequence " + i / t + ", position " + i % t
        + ", id " + ids.flatten().get(i).item_long() + "; policy " + cFloat(at(logps, i))
        + (old != null ? ", old " + cFloat(at(old, i)) : "") + (ref != null ? ", ref " + cFloat(at(ref, i)) : "")
        + ")";
  }

  private static float at(Tensor t, long i) {
    return t.flatten().get(i).to(ScalarType.Float).item_float();
  }

  /** A float as C++'s std::to_string prints it ("%f": six decimals, "inf", "-inf", "nan", "-nan"). */
  static String cFloat(float v) {
    if (Float.isNaN(v)) {
      return (Float.floatToRawIntBits(v) < 0 ? "-" : "") + "nan";
    }
    if (Float.isInfinite(v)) {
      return v < 0 ? "-inf" : "inf";
    }
    return String.format(java.util.Locale.ROOT, "%f", (double) v);
  }
}
