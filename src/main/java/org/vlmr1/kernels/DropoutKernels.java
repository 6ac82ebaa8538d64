// The LoRA adapters' keyed dropout mask on our C++ kernel (lora_dropout.cpp), with LoraDropout's libtorch
// composite as oracle and fallback. The composite makes about fifteen passes over (B, L, in) int64 tensors: 234 ms
// per mask at B 4, L 800, in 2048, more than the adapter's projection it feeds (issue 16).
package org.vlmr1.kernels;

import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Keyed dropout masks. Thread-safe. */
public final class DropoutKernels {
  private DropoutKernels() {}

  /**
   * Whether {@link #loraMask} can run: positions on the CPU, a float32, bfloat16 or float64 mask, and the native
   * kernels loaded ({@link GrpoKernels#backend}, so {@code -Dvlmr1.kernels=composite} forces the composite).
   */
  public static boolean usesNative(Tensor positions, ScalarType dtype) {
    return (dtype == ScalarType.Float || dtype == ScalarType.BFloat16 || dtype == ScalarType.Double)
        && KernelProviders.deviceType(positions).equals("cpu") && GrpoKernels.backend() == KernelBackend.NATIVE;
  }

  /**
   * The scaled keep mask (B, L, in) of {@code dtype} on the CPU: 1 / (1 - p) where
   * {@code (splitmix64(rowKeys[b] ^ (positions[b, l] * in + j)) >>> 11) * 2^-53 >= p}, else 0 (model.LoraDropout
   * documents the keys). Call only when {@link #usesNative} holds.
   *
   * @param rowKeys (B) the hash chain of (seed, step, sample, module) of each row
   * @param positions (B, L) int64 token positions (negative for pads), any strides
   * @param p dropout probability in [0, 1)
   */
  public static Tensor loraMask(long[] rowKeys, Tensor positions, long in, double p, ScalarType dtype) {
    if (positions.dim() != 2 || positions.size(0) != rowKeys.length
        || TensorChecks.dtype(positions) != ScalarType.Long) {
      throw TensorChecks.bad("positions", "(" + rowKeys.length + ", L) int64", positions);
    }
    if (in < 0 || !(p >= 0 && p < 1)) {
      throw new IllegalArgumentException("loraMask: in must be >= 0 and p in [0, 1), got in " + in + ", p " + p);
    }
    long b = positions.size(0);
    long l = positions.size(1);
    Tensor pos = positions.contiguous();                                                     // (B, L)
    Tensor out = torch.empty(new long[] {b, l, in}, new TensorOptions(dtype), null);          // (B, L, in)
    if (out.numel() > 0) {
      int code = dtype == ScalarType.Float ? GrpoNative.DTYPE_F32
          : dtype == ScalarType.BFloat16 ? GrpoNative.DTYPE_BF16 : GrpoNative.DTYPE_F64;
      try (LongPointer keys = new LongPointer(rowKeys)) {
        GrpoNative.lora_dropout_mask(keys, pos.data_ptr_long(), b, l, in, p, code, out.data_ptr());
      }
    }
    return out;
  }
}
