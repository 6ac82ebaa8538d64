// Argument checks for the kernel facade: every message names the argument and what it got, so a bad call reads as
// "logits must be (N, V) float32 or bfloat16, got [3, 5] Int" rather than a crash or a libtorch backtrace.
package org.vlmr1.kernels;

import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Validation and light conversion of kernel arguments. */
public final class TensorChecks {
  /** The values of an integer tensor (any shape, row-major) as int64. */
  public static long[] longs(Tensor t) {
    // onto the host first: a CUDA tensor's data pointer is device memory (a CPU tensor is not copied)
    Tensor c = t.to(new org.bytedeco.pytorch.Device(org.bytedeco.pytorch.global.torch.DeviceType.CPU),
        org.bytedeco.pytorch.global.torch.ScalarType.Long).contiguous();
    long[] out = new long[(int) c.numel()];
    if (out.length > 0) { // an empty tensor has no data pointer
      c.data_ptr_long().get(out);
    }
    return out;
  }

  private TensorChecks() {}

  /** The shape of a tensor as a Java array. */
  public static long[] shape(Tensor t) {
    long[] s = new long[(int) t.dim()];
    for (int i = 0; i < s.length; i++) {
      s[i] = t.size(i);
    }
    return s;
  }

  /** The dtype of a tensor, interned (native enums are fresh objects: JAVACPP-NOTES.md "GOTCHA"). */
  public static ScalarType dtype(Tensor t) {
    return t.scalar_type().intern();
  }

  /** "[3, 5] Float" */
  public static String describe(Tensor t) {
    return Arrays.toString(shape(t)) + " " + dtype(t).name();
  }

  static IllegalArgumentException bad(String name, String expected, Tensor t) {
    return new IllegalArgumentException(name + " must be " + expected + ", got " + describe(t));
  }

  /** Fails unless every named tensor (name, tensor pairs; null tensors skipped) is on {@code main}'s device. */
  static void requireSameDevice(Tensor main, Object... namedTensors) {
    String want = main.device().str().getString();
    for (int i = 0; i < namedTensors.length; i += 2) {
      Tensor t = (Tensor) namedTensors[i + 1];
      if (t != null && !t.device().str().getString().equals(want)) {
        throw new IllegalArgumentException(namedTensors[i] + " is on " + t.device().str().getString()
            + " but the other operands are on " + want + "; move them to one device");
      }
    }
  }

  /** Checks a large floating operand: float32 or bfloat16, the given rank, contiguous. Returns its dtype code. */
  static int requireLogitsLike(String name, Tensor t, int rank, String shapeText) {
    if (t == null || t.isNull()) {
      throw new IllegalArgumentException(name + " is null");
    }
    ScalarType st = dtype(t);
    if (t.dim() != rank || (st != ScalarType.Float && st != ScalarType.BFloat16)) {
      throw bad(name, shapeText + " float32 or bfloat16", t);
    }
    if (!t.is_contiguous()) {
      throw new IllegalArgumentException(name + " must be contiguous (call contiguous() first), got a strided "
          + describe(t));
    }
    for (int i = 0; i < rank; i++) {
      if (t.size(i) == 0 && i == rank - 1) {
        throw bad(name, shapeText + " with a non-empty last dimension", t);
      }
    }
    return st == ScalarType.BFloat16 ? GrpoNative.DTYPE_BF16 : GrpoNative.DTYPE_F32;
  }

  /** Checks an id tensor: int64 of exactly the given shape; returns it contiguous. */
  static Tensor requireIds(String name, Tensor t, long... expectedShape) {
    if (t == null || t.isNull()) {
      throw new IllegalArgumentException(name + " is null");
    }
    if (dtype(t) != ScalarType.Long || !Arrays.equals(shape(t), expectedShape)) {
      throw bad(name, Arrays.toString(expectedShape) + " int64", t);
    }
    return t.contiguous();
  }

  /**
   * Checks a small per-token or per-sequence operand of exactly the given shape and returns it as a contiguous
   * float32 tensor (bool, integer and floating inputs are converted; masks often arrive as bool or int64).
   */
  static Tensor requireSmallFloat(String name, Tensor t, long... expectedShape) {
    if (t == null || t.isNull()) {
      throw new IllegalArgumentException(name + " is null");
    }
    if (!Arrays.equals(shape(t), expectedShape)) {
      throw bad(name, Arrays.toString(expectedShape), t);
    }
    ScalarType st = dtype(t);
    if (st == ScalarType.ComplexFloat || st == ScalarType.ComplexDouble) {
      throw bad(name, "real-valued", t);
    }
    return (st == ScalarType.Float ? t : t.to(ScalarType.Float)).contiguous();
  }

  /** The first flat index where {@code bad} (bool) is true, or -1. */
  static long firstTrue(Tensor bad) {
    if (!bad.any().item_bool()) {
      return -1;
    }
    return torch.argmax(bad.flatten().to(ScalarType.Int)).item_long();
  }
}
