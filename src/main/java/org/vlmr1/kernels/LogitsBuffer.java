// Per-thread (rows, V) work buffers of the kernels, kept between calls instead of allocated per call.
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One buffer per thread and use. At Qwen's vocabulary a chunk of the fused loss-from-hidden is hundreds of MB:
 * malloc maps so large a block fresh on every call and the kernel then page-faults through all of it at every step
 * (4.5% of a training step's CPU). The composites' few-row scratch is small, but allocated per call it landed at a
 * new heap address each time (glibc), so every call touched fresh pages: +1.2 MiB of peak RSS per call of the token
 * log-probs (issue 18). A buffer only grows (to the largest request seen, of the latest dtype and device) and lives
 * until its thread ends; a call uses it only within itself and returns no view of it.
 */
final class LogitsBuffer {
  /** The chunk logits of {@link NativeKernels#grpoLossFromHidden} (CPU, the weights' dtype). */
  static final LogitsBuffer FUSED_CHUNK = new LogitsBuffer();
  /** The float32 chunk logits of {@link CompositeKernels#grpoLossFromHidden}, on the inputs' device. */
  static final LogitsBuffer COMPOSITE_CHUNK = new LogitsBuffer();
  /** The composites' few-row float32 scratch of the row log-softmax, on the inputs' device. */
  static final LogitsBuffer COMPOSITE_ROWS = new LogitsBuffer();

  private final ThreadLocal<Tensor> buffer = new ThreadLocal<>();

  private LogitsBuffer() {}

  /** {@link #rows(long, long, ScalarType, Tensor)} of {@code like}'s dtype. */
  Tensor rows(long rows, long v, Tensor like) {
    return rows(rows, v, TensorChecks.dtype(like), like);
  }

  /**
   * A (rows, V) contiguous view of this thread's buffer, of {@code dtype} on {@code like}'s device, contents
   * undefined. Valid until the next call on this thread.
   */
  Tensor rows(long rows, long v, ScalarType dtype, Tensor like) {
    long need = rows * v;
    Tensor buf = buffer.get();
    if (buf == null || buf.numel() < need || TensorChecks.dtype(buf) != dtype || !Devices.on(buf, like.device())) {
      if (buf != null) {
        buffer.remove();
        buf.releaseReference(); // the previous buffer's memory goes back before the larger one is taken
      }
      buf = like.new_empty(new long[] {need}, new TensorOptions(dtype));
      Scopes.escape(buf, null); // outlives the caller's scope: released above when replaced, else with the thread
      buffer.set(buf);
    }
    return buf.narrow(0, 0, need).view(rows, v);                                                 // (rows, V)
  }
}
