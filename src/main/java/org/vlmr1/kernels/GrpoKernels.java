// The public low-level GRPO kernel API: token log-probs, group advantages and the fused GRPO loss (from logits or
// from hidden states), on our native C++ kernels with their libtorch composites as fallback (CompositeKernels).
package org.vlmr1.kernels;

import org.bytedeco.pytorch.Tensor;

/**
 * Fused GRPO kernels. Every method validates its arguments (dtype, shape, contiguity, one device for all tensors, id
 * range) and throws {@link IllegalArgumentException} naming the problem, then runs on the {@link KernelProvider} of
 * the tensors' device ({@link KernelProviders}). On the CPU the backend is chosen once per process: our native library
 * when it loads, else the libtorch composites with one warning. The system property {@code vlmr1.kernels} overrides
 * it: {@code auto} (default), {@code native} (fail when it cannot load) or {@code composite}.
 *
 * <p>Results are new tensors owned by the caller's innermost {@code PointerScope} (run training steps inside one).
 * Log-probs are always float32; sums run in float32/float64 even for bf16 logits, and every result is bit-identical
 * run to run for a given thread count.
 */
public final class GrpoKernels {
  private static volatile KernelBackend backend;
  private static volatile String description;

  private GrpoKernels() {}

  /**
   * Bytes of logits that {@link #grpoLossFromHidden} may hold at once by default ({@link #chunkRows}): a 16 x 32 batch
   * at V = 151,936 (311 MB of float32) fits, so the head weight is read once and its gradient written once, where
   * 256-row chunks made two passes over V x H.
   */
  public static final long LOGITS_BUDGET_BYTES = 384L << 20;

  /**
   * Rows per chunk of {@link #grpoLossFromHidden} for {@code rows} rows: as few passes as {@code budgetBytes} of
   * (chunk, V) logits allow, and chunks of equal size (so no pass is a short tail).
   *
   * @param elementBytes bytes of one logit (the hidden states' dtype: 4 for float32, 2 for bfloat16)
   */
  public static int chunkRows(long rows, long vocab, int elementBytes, long budgetBytes) {
    if (rows < 0 || vocab < 1 || elementBytes < 1 || budgetBytes < 1) {
      throw new IllegalArgumentException("chunkRows(rows " + rows + ", vocab " + vocab + ", elementBytes "
          + elementBytes + ", budgetBytes " + budgetBytes + ")");
    }
    long cap = Math.max(1, budgetBytes / (vocab * elementBytes));
    long passes = Math.max(1, (rows + cap - 1) / cap);
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, (rows + passes - 1) / passes));
  }

  /** {@link #chunkRows(long, long, int, long)} with {@link #LOGITS_BUDGET_BYTES} for logits like {@code head}'s. */
  public static int chunkRows(long rows, Tensor head) {
    return chunkRows(rows, head.size(0), (int) head.element_size(), LOGITS_BUDGET_BYTES);
  }

  /** The backend in use (decided, and the native library loaded, on the first call). */
  public static KernelBackend backend() {
    if (backend == null) {
      selectBackend();
    }
    return backend;
  }

  /** One line on the backend: the instruction set and threads of the native kernels, or why they are not used. */
  public static String describeBackend() {
    backend();
    return description;
  }

  private static synchronized void selectBackend() {
    if (backend != null) {
      return;
    }
    TorchRuntime.load();
    NativeLibraries.Choice c = NativeLibraries.choose("org.vlmr1.kernels.GrpoNative", "native kernels",
        "every kernel falls back to its libtorch composite (slower)");
    description = c.backend() == KernelBackend.NATIVE ? NativeProvider.INSTANCE.describe()
        : "libtorch composite (" + c.reason() + ")";
    backend = c.backend();
  }

  /**
   * Per-row log-softmax of {@code logits / temperature} at the target, in one streaming pass per row; never allocates
   * N x V. A target whose logit is -inf gets -inf.
   *
   * <p>Example: logits [[0, ln 3]], target [1], T = 1 gives log-prob ln(3/4) = -0.2877 and entropy 0.5623.
   *
   * @param logits (N, V) float32 or bfloat16, contiguous
   * @param targets (N) int64 in [0, V)
   * @param temperature > 0 (TRL divides the logits by the sampling temperature)
   * @param withEntropy also return each row's entropy
   */
  public static TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy) {
    TensorChecks.requireLogitsLike("logits", logits, 2, "(N, V)");
    Tensor ids = TensorChecks.requireIds("targets", targets, logits.size(0));
    TensorChecks.requireSameDevice(logits, "targets", ids);
    requireTemperature(temperature);
    return KernelProviders.forTensor(logits).tokenLogProbs(logits, ids, temperature, withEntropy);
  }

  /**
   * Group-normalised advantages over consecutive groups of {@code groupSize} rewards:
   * {@code (r - mean_group) / (std + 1e-4)} with the unbiased (n-1) std, as VLM-R1 and TRL compute it. BATCH keeps
   * the group mean but divides by the std of all rewards given (pass the rewards gathered from every process); NONE
   * only centres. A group of size 1 has advantage 0.
   *
   * <p>Example: rewards [1, 0, 0, 1], groupSize 2, GROUP gives [0.7070, -0.7070, -0.7070, 0.7070].
   *
   * @param rewards (B*G) float32 (other real dtypes are converted); non-finite rewards are rejected
   */
  public static Tensor groupAdvantages(Tensor rewards, int groupSize, ScaleRewards scale) {
    if (rewards == null || rewards.isNull()) {
      throw new IllegalArgumentException("rewards is null");
    }
    if (rewards.dim() != 1) {
      throw TensorChecks.bad("rewards", "(B*G) 1-D", rewards);
    }
    if (groupSize < 1 || rewards.size(0) % groupSize != 0) {
      throw new IllegalArgumentException("rewards of length " + rewards.size(0) + " do not split into groups of "
          + groupSize + " (groupSize must be >= 1 and divide it)");
    }
    if (scale == null) {
      throw new IllegalArgumentException("scale must be GROUP, BATCH or NONE");
    }
    Tensor r = TensorChecks.requireSmallFloat("rewards", rewards, rewards.size(0));
    return KernelProviders.forTensor(r).groupAdvantages(r, groupSize, scale);
  }

  /** {@link #grpoLoss(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, GrpoLossConfig, Tensor)} into a new buffer. */
  public static GrpoLossResult grpoLoss(Tensor logits, Tensor completionIds, Tensor completionMask, Tensor advantages,
      Tensor oldLogps, Tensor refLogps, GrpoLossConfig cfg) {
    return grpoLoss(logits, completionIds, completionMask, advantages, oldLogps, refLogps, cfg, null);
  }

  /**
   * The GRPO loss (VLM-R1-SPEC.md 4.4) with its gradient with respect to the logits, computed in the same pass:
   * per token {@code -min(ratio*A, clip(ratio, 1-epsLow, 1+epsHigh)*A) + beta*k3KL}, aggregated by
   * {@code cfg.lossType()} and multiplied by {@code cfg.lossScale()}. Training then calls
   * {@code logits.backward(result.gradLogits())} instead of building an autograd graph over B x T x V.
   *
   * @param logits (B, T, V) float32 or bfloat16, contiguous: the logits that predict each completion token
   * @param completionIds (B, T) int64 completion token ids
   * @param completionMask (B, T) 1 for tokens in the loss (through the first EOS), 0 for padding; bool, int or float
   * @param advantages (B) one advantage per sequence
   * @param oldLogps (B, T) log-probs at rollout time, or null for the detached current policy (ratio 1)
   * @param refLogps (B, T) reference-model log-probs; required when beta > 0, ignored when beta = 0
   * @param gradOut (B, T, V) buffer of the logits' dtype for the gradient, or null for a new one; it may be the
   *     logits tensor itself (the trainer's choice: the logits are dead after the loss), which keeps the extra memory
   *     O(B*T)
   * @throws IllegalArgumentException on bad shapes or dtypes, ids out of range, beta > 0 without reference log-probs,
   *     or a non-finite log-prob at an unmasked token
   */
  public static GrpoLossResult grpoLoss(Tensor logits, Tensor completionIds, Tensor completionMask, Tensor advantages,
      Tensor oldLogps, Tensor refLogps, GrpoLossConfig cfg, Tensor gradOut) {
    int dtype = TensorChecks.requireLogitsLike("logits", logits, 3, "(B, T, V)");
    long b = logits.size(0);
    long t = logits.size(1);
    LossArgs a = lossArgs(logits, b, t, completionIds, completionMask, advantages, oldLogps, refLogps, cfg);
    if (gradOut != null) {
      int gd = TensorChecks.requireLogitsLike("gradOut", gradOut, 3, "(B, T, V)");
      if (gd != dtype || !java.util.Arrays.equals(TensorChecks.shape(gradOut), TensorChecks.shape(logits))) {
        throw TensorChecks.bad("gradOut", "shaped and typed like logits " + TensorChecks.describe(logits), gradOut);
      }
    }
    if (gradOut != null) {
      TensorChecks.requireSameDevice(logits, "gradOut", gradOut);
    }
    return KernelProviders.forTensor(logits).grpoLoss(logits, a.ids, a.mask, a.adv, a.old, a.ref, cfg, gradOut);
  }

  /**
   * The GRPO loss of {@link #grpoLoss} fused with the LM head: logits = hidden @ lmHeadWeight^T are computed
   * {@code chunkRows} rows at a time (libtorch matmul, then our kernel with the gradient written over the chunk), so
   * no more than chunkRows x V logits ever exist (Liger-Kernel's fused-linear idea, with entropy and clip metrics).
   * Returns dLoss/dHidden and dLoss/dWeight.
   *
   * <p>Tied embeddings (Qwen2.5-VL-3B, the tiny test models): when the head weight is the embedding table, add
   * {@code gradWeight} to the embedding's gradient (e.g. {@code emb.grad().add_(gradWeight)} after
   * {@code hidden.backward(gradHidden)}); the hidden-state path reaches the embedding through the decoder.
   *
   * @param hidden (B, T, H) float32 or bfloat16, contiguous: the final-norm hidden states at the positions that
   *     predict each completion token
   * @param lmHeadWeight (V, H) same dtype, contiguous
   * @param chunkRows rows of logits computed at once ({@link #chunkRows(long, Tensor)} sizes them to a memory
   *     budget); memory is about chunkRows x V x 4 bytes
   */
  public static GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor lmHeadWeight, Tensor completionIds,
      Tensor completionMask, Tensor advantages, Tensor oldLogps, Tensor refLogps, GrpoLossConfig cfg,
      int chunkRows) {
    int dtype = TensorChecks.requireLogitsLike("hidden", hidden, 3, "(B, T, H)");
    int wd = TensorChecks.requireLogitsLike("lmHeadWeight", lmHeadWeight, 2, "(V, H)");
    if (wd != dtype || lmHeadWeight.size(1) != hidden.size(2)) {
      throw TensorChecks.bad("lmHeadWeight", "(V, " + hidden.size(2) + ") of the hidden states' dtype "
          + TensorChecks.dtype(hidden).name(), lmHeadWeight);
    }
    if (chunkRows < 1) {
      throw new IllegalArgumentException("chunkRows must be >= 1, got " + chunkRows);
    }
    long b = hidden.size(0);
    long t = hidden.size(1);
    TensorChecks.requireSameDevice(hidden, "lmHeadWeight", lmHeadWeight);
    LossArgs a = lossArgs(hidden, b, t, completionIds, completionMask, advantages, oldLogps, refLogps, cfg);
    return KernelProviders.forTensor(hidden).grpoLossFromHidden(hidden, lmHeadWeight, a.ids, a.mask, a.adv, a.old,
        a.ref, cfg, chunkRows);
  }

  /** The validated small operands of a loss call: contiguous, float32 except the ids. */
  private record LossArgs(Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref) {}

  private static LossArgs lossArgs(Tensor main, long b, long t, Tensor completionIds, Tensor completionMask,
      Tensor advantages, Tensor oldLogps, Tensor refLogps, GrpoLossConfig cfg) {
    if (cfg == null) {
      throw new IllegalArgumentException("cfg is null");
    }
    Tensor ids = TensorChecks.requireIds("completionIds", completionIds, b, t);
    Tensor mask = TensorChecks.requireSmallFloat("completionMask", completionMask, b, t);
    Tensor adv = TensorChecks.requireSmallFloat("advantages", advantages, b);
    Tensor old = oldLogps == null ? null : TensorChecks.requireSmallFloat("oldLogps", oldLogps, b, t);
    Tensor ref = null;
    if (cfg.beta() > 0) {
      if (refLogps == null) {
        throw new IllegalArgumentException("beta = " + cfg.beta() + " needs refLogps (the reference model's "
            + "log-probs); pass them, or set beta = 0 to train without the KL term");
      }
      ref = TensorChecks.requireSmallFloat("refLogps", refLogps, b, t);
    }
    TensorChecks.requireSameDevice(main, "completionIds", ids, "completionMask", mask, "advantages", adv, "oldLogps",
        old, "refLogps", ref);
    return new LossArgs(ids, mask, adv, old, ref);
  }

  private static void requireTemperature(double temperature) {
    if (!(temperature > 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
    }
  }
}
