// The decode step's LM head when the sampler needs only the top k ids (top-k sampling; greedy is top-1): a bf16 copy
// of the float32 head (half the bytes a step streams) gives approximate logits with a proven error bound, and only
// the ids whose bound reaches the k-th largest get their exact logit, by the same fixed-order dot product as
// LmHeadKernels (lm_head.cpp's pruned head), so the sampler sees the exact logits of every id it can pick.
package org.vlmr1.kernels;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A head weight's bf16 copy and row norms for one decode loop (built in one pass over the weight, 100-300 ms for a
 * 151,936 x 1024 head on this project's 2-core machine, and freed by {@link #close}). Not thread-safe.
 */
public final class PrunedHead implements AutoCloseable {
  /**
   * {@code -Dvlmr1.prunedHead=true} turns the pruned head on wherever it applies, {@code false} off everywhere; unset,
   * it runs where GenerationOptions.pruneHead asks for it (off by default).
   */
  public static final String PROPERTY = "vlmr1.prunedHead";

  private static final java.util.concurrent.atomic.AtomicLong STEPS = new java.util.concurrent.atomic.AtomicLong();

  /** {@code -Dvlmr1.prunedHead.amx=false} keeps the approximate logits off AMX where the CPU has it. */
  public static final String AMX_PROPERTY = "vlmr1.prunedHead.amx";

  /** Row-major bf16 copy, widened to float32 in the read-once tiles. */
  static final int ROWS = 0;
  /** bf16 copy in AMX tiles; the hidden rows are rounded to bf16 too (a wider bound), multiplied by TDPBF16PS. */
  static final int AMX = 1;

  private final Tensor weight;  // (V, H) float32, the exact head (the caller's)
  private final Tensor packed;  // lm_head_packed_elements bf16: the copy in its layout
  private final Tensor norms;   // (V, 2) float64, upper bounds of each row's 2-norm and of its bf16 residual's
  private final int layout;
  private boolean closed;

  /**
   * The exact logits of each row's candidates, in id order: {@code ids} (B, C) int64 and {@code logits} (B, C)
   * float32, C the widest row's count (>= k); a shorter row is padded with id 0 and logit -inf.
   */
  public record Candidates(Tensor ids, Tensor logits) {}

  private PrunedHead(Tensor weight, Tensor packed, Tensor norms, int layout) {
    this.weight = weight;
    this.packed = packed;
    this.norms = norms;
    this.layout = layout;
  }

  /** Whether this CPU and kernel let the approximate logits run on AMX (AMX-BF16, and Linux's permission for it). */
  public static boolean amxAvailable() {
    return GrpoKernels.backend() == KernelBackend.NATIVE && GrpoNative.lm_head_amx_available();
  }

  /** "AMX" or "bf16 rows": where this head's approximate logits run. */
  public String describe() {
    return layout == AMX ? "AMX" : "bf16 rows";
  }

  /**
   * Whether a decode loop may prune this head: {@link LmHeadKernels#usesNative} holds for it (float32, contiguous,
   * CPU, no autograd, native kernels), and {@value #PROPERTY} is not false.
   */
  public static boolean applies(Tensor weight) {
    return !"false".equals(System.getProperty(PROPERTY)) && weight.dim() == 2
        && TensorChecks.dtype(weight) == ScalarType.Float && KernelProviders.deviceType(weight).equals("cpu")
        && weight.is_contiguous() && !(GradMode.is_enabled() && weight.requires_grad())
        && GrpoKernels.backend() == KernelBackend.NATIVE;
  }

  /**
   * The pruned head of {@code weight} (V, H), which must satisfy {@link #applies} and outlive this object: on AMX
   * where {@link #amxAvailable} and {@value #AMX_PROPERTY} is not false.
   */
  public static PrunedHead of(Tensor weight) {
    return of(weight, amxAvailable() && !"false".equals(System.getProperty(AMX_PROPERTY)) ? AMX : ROWS);
  }

  /** {@link #of} in a given layout ({@link #ROWS} or {@link #AMX}), for the tests of both. */
  static PrunedHead of(Tensor weight, int layout) {
    if (layout == AMX && !amxAvailable()) {
      throw new IllegalArgumentException("the AMX layout needs AMX-BF16 and the kernel's permission for it");
    }
    if (!applies(weight)) {
      throw new IllegalArgumentException("the pruned head needs a float32 contiguous CPU weight without autograd and "
          + "the native kernels, got " + TensorChecks.describe(weight) + " (" + GrpoKernels.describeBackend() + ")");
    }
    long v = weight.size(0);
    long h = weight.size(1);
    try (PointerScope s = new PointerScope()) {
      long elements = GrpoNative.lm_head_packed_elements(v, h, layout);
      Tensor packed = torch.empty(new long[] {elements}, new TensorOptions(ScalarType.BFloat16), null);
      Tensor norms = torch.empty(new long[] {v, 2}, new TensorOptions(ScalarType.Double), null);      // (V, 2)
      GrpoNative.lm_head_pack_bf16(weight.data_ptr_float(), v, h, packed.data_ptr(),
          new DoublePointer(norms.data_ptr()), layout);
      packed.retainReference(); // outlive this scope until close()
      norms.retainReference();
      return new PrunedHead(weight, packed, norms, layout);
    }
  }

  /**
   * The approximate logits of {@code hidden} from the bf16 copy.
   *
   * @param hidden (B, H) float32 CPU
   * @return (B, V) float32
   */
  public Tensor approx(Tensor hidden) {
    Tensor x = checked(hidden);
    long b = x.size(0);
    long v = weight.size(0);
    Tensor out = torch.empty(new long[] {b, v}, new TensorOptions(ScalarType.Float), null);              // (B, V)
    if (b > 0) {
      GrpoNative.lm_head_logits_bf16(x.data_ptr_float(), packed.data_ptr(), b, v, x.size(1), out.data_ptr_float(),
          layout);
    }
    return out;
  }

  /**
   * Whether the full head of these rows is our kernel ({@link LmHeadKernels#usesNative}), whose bits the candidates'
   * exact logits are: not when grad mode is on and the rows require grad (torch.linear serves then).
   */
  public boolean matchesFullHead(Tensor hidden) {
    return LmHeadKernels.usesNative(hidden, weight);
  }

  /** Every logit of the rows, {@link LmHeadKernels#logits} under this head: (B, V). */
  public Tensor fullLogits(Tensor hidden) {
    return LmHeadKernels.logits(hidden, weight);
  }

  /**
   * The candidates of each row for the top {@code k}: every id whose exact logit can be among the k largest
   * (counted with ties) is one, with its exact logit.
   *
   * @param hidden (B, H) float32 CPU, the rows {@code approx} came from
   * @param approx (B, V) float32, {@link #approx} of hidden, possibly with some columns overwritten by exact values
   * @param k in [1, V]
   * @param exactIds the columns of approx that hold exact values (bound 0, taken as they are), or null
   * @return the candidates, or null when they are not worth it or not safe: a row's approximate or exact logits
   *     are not finite, or some row has more than {@code max(8k, 256)} candidates (logits nearly all equal); the
   *     caller then computes every logit
   */
  public Candidates candidates(Tensor hidden, Tensor approx, int k, long[] exactIds) {
    Tensor x = checked(hidden);
    long b = x.size(0);
    long v = weight.size(0);
    if (k < 1 || k > v) {
      throw new IllegalArgumentException("k must be in [1, " + v + "], got " + k);
    }
    if (approx.dim() != 2 || approx.size(0) != b || approx.size(1) != v
        || TensorChecks.dtype(approx) != ScalarType.Float) {
      throw new IllegalArgumentException("approx must be (" + b + ", " + v + ") float32, got "
          + TensorChecks.describe(approx));
    }
    Tensor a = approx.contiguous();
    long cap = Math.min(v, Math.max(8L * k, 256));
    Tensor ids = torch.empty(new long[] {b, cap}, new TensorOptions(ScalarType.Long), null);            // (B, cap)
    Tensor logits = torch.empty(new long[] {b, cap}, new TensorOptions(ScalarType.Float), null);        // (B, cap)
    Tensor counts = torch.empty(new long[] {Math.max(b, 1)}, new TensorOptions(ScalarType.Long), null); // (B)
    long[] exact = exactIds == null ? new long[0] : exactIds;
    LongPointer exactPtr = new LongPointer(Math.max(exact.length, 1));
    exactPtr.put(exact);
    long widest = b == 0 ? k : GrpoNative.lm_head_candidates(x.data_ptr_float(), b, x.size(1),
        weight.data_ptr_float(), new DoublePointer(norms.data_ptr()), v, a.data_ptr_float(), exactPtr,
        exact.length, k, cap, new LongPointer(ids.data_ptr()), logits.data_ptr_float(),
        new LongPointer(counts.data_ptr()), layout);
    if (widest < 0 || widest > cap) {
      return null;
    }
    STEPS.incrementAndGet();
    long c = Math.max(widest, k);
    return new Candidates(ids.narrow(1, 0, c).contiguous(), logits.narrow(1, 0, c).contiguous());
  }

  /** How many steps in this process took their ids from candidates (for logs and tests). */
  public static long prunedSteps() {
    return STEPS.get();
  }

  private Tensor checked(Tensor hidden) {
    if (closed) {
      throw new IllegalStateException("pruned head used after close()");
    }
    if (hidden.dim() != 2 || hidden.size(1) != weight.size(1) || TensorChecks.dtype(hidden) != ScalarType.Float
        || !KernelProviders.deviceType(hidden).equals("cpu")) {
      throw new IllegalArgumentException("hidden must be (B, " + weight.size(1) + ") float32 on the CPU, got "
          + TensorChecks.describe(hidden));
    }
    return hidden.contiguous();
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      packed.releaseReference();
      norms.releaseReference();
    }
  }
}
