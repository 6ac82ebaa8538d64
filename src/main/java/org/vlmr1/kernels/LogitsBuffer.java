// The fused loss-from-hidden's (chunk, V) logits buffer, kept between calls instead of allocated per step.
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * One buffer per thread for the logits of {@link NativeKernels#grpoLossFromHidden}'s chunks. At Qwen's vocabulary a
 * chunk is hundreds of MB: malloc maps so large a block fresh on every call and the kernel then page-faults through
 * all of it at every step (4.5% of a training step's CPU), so the buffer stays mapped between steps. It only grows
 * (to the largest chunk seen, of the latest dtype) and lives until its thread ends; a call uses it only within
 * itself and returns no view of it.
 */
final class LogitsBuffer {
  private static final ThreadLocal<Tensor> BUFFER = new ThreadLocal<>();

  private LogitsBuffer() {}

  /**
   * A (rows, V) contiguous CPU view of this thread's buffer, of {@code like}'s dtype, contents undefined (the native
   * kernels run on the CPU only).
   * Valid until the next call on this thread.
   */
  static Tensor rows(long rows, long v, Tensor like) {
    long need = rows * v;
    Tensor buf = BUFFER.get();
    if (buf == null || buf.numel() < need || buf.scalar_type() != like.scalar_type()) {
      if (buf != null) {
        BUFFER.remove();
        buf.releaseReference(); // the previous buffer's memory goes back before the larger one is taken
      }
      buf = torch.empty(new long[] {need}, new TensorOptions(like.scalar_type()), null);
      Scopes.escape(buf, null); // outlives the caller's scope: released above when replaced, else with the thread
      BUFFER.set(buf);
    }
    return buf.narrow(0, 0, need).view(rows, v);                                                 // (rows, V)
  }
}
