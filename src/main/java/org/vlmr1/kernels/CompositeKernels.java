// The libtorch-composite references of the fused kernels: log_softmax / gather / autograd, exactly the math of
// VLM-R1-SPEC.md 4.3-4.4 and TRL. They are the test oracle of the native kernels and their fallback when the native
// library cannot load (and on devices without native twins). They run in row chunks, so beyond their inputs and
// outputs they hold O(chunk x V) memory, never an (N, V) temporary (issue 18: the full-logits versions took 2.4 GB /
// 4.8 GB at N = 2048, V = 151,936, more than TRL's PyTorch code); the token log-probs' chunk is a few rows of a
// scratch kept between calls (LogitsBuffer), one log_softmax_out and one gather per chunk.
// bf16 inputs are upcast to float32 chunk by chunk (VLM-R1 runs its log-softmax in bf16; we deliberately do not).
package org.vlmr1.kernels;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reference implementations with the same contract as {@link GrpoKernels}. Callers normally use GrpoKernels, which
 * validates arguments and picks the backend; these methods assume validated arguments (see GrpoKernels' Javadoc).
 */
public final class CompositeKernels {
  /**
   * Logits in the token log-probs' row scratch at most (4 MiB of float32, six Qwen rows). A chunk is one row per
   * intra-op thread ({@link #tokenChunkRows}): libtorch's last-dim log-softmax splits a chunk by rows, so fewer rows
   * leave threads idle and more only add memory. The scratch is kept between calls: allocated per call it landed on
   * fresh pages each time. Measured on a shared 2-core machine at N = 2048, V = 151,936, f32, old and new builds run
   * back to back three times (`bench kernels --ops tokenLogProbs,grpoLoss --dtypes f32`): gather minus logsumexp in
   * three-row chunks allocated per chunk 413-627 ms / +12.5-19.4 MiB; log_softmax_out into this scratch, two rows per
   * chunk, 307-324 ms / +5.3-5.4 MiB (TRL's PyTorch code: 439 ms / 9 MB).
   */
  static final long ROW_SCRATCH_ELEMENTS = 1L << 20;

  /**
   * Logits per row chunk of the loss (4 MiB of float32): its per-chunk autograd costs more ops, and one-row chunks
   * made it 1.5x slower; the gradient output (N x V) dwarfs the chunk temporaries either way.
   */
  static final long LOSS_CHUNK_ELEMENTS = 1L << 20;

  private CompositeKernels() {}

  /** Rows per chunk of about {@code elements} logits for a vocabulary of {@code v}: at least one. */
  static long chunkRows(long elements, long v) {
    return Math.max(1, elements / Math.max(1, v));
  }

  /** Rows per chunk of the token log-probs: one per intra-op thread, within {@link #ROW_SCRATCH_ELEMENTS}. */
  static long tokenChunkRows(long v) {
    return Math.max(1, Math.min(torch.get_num_threads(), chunkRows(ROW_SCRATCH_ELEMENTS, v)));
  }

  /**
   * log_softmax(logits.float() / T).gather(targets) and, optionally, the row entropy, in row chunks without autograd.
   */
  public static TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      long n = logits.size(0);
      Tensor lp = floatRows(logits, n);                                        // (N)
      Tensor ent = withEntropy ? floatRows(logits, n) : null;                 // (N)
      logProbRows(logits, targets, temperature, lp, ent);
      return new TokenLogProbs(Scopes.escape(lp, outer), Scopes.escape(ent, outer));
    }
  }

  /**
   * Writes log_softmax(logits.float() / T).gather(targets) of the (N, V) logits into {@code lp} (N) and, when
   * {@code ent} is given, -sum p log p of each row into it (0 log 0 counts as 0). Each chunk is a log_softmax_out
   * into this thread's kept scratch and a gather_out into the result, so the chunk loop allocates no (rows, V)
   * tensor; a second half of the scratch holds the float32 logits / T (bf16 logits or T != 1) and then p.
   * Call without autograd.
   */
  private static void logProbRows(Tensor logits, Tensor targets, double temperature, Tensor lp, Tensor ent) {
    long n = logits.size(0);
    long v = logits.size(1);
    if (n == 0) {
      return;
    }
    long step = Math.min(n, tokenChunkRows(v));
    boolean upcast = TensorChecks.dtype(logits) != ScalarType.Float || temperature != 1.0;
    boolean twoHalves = upcast || ent != null;
    Tensor scratch = LogitsBuffer.COMPOSITE_ROWS.rows((twoHalves ? 2 : 1) * step, v, ScalarType.Float, logits);
    for (long r0 = 0; r0 < n; r0 += step) {
      try (PointerScope cs = new PointerScope()) { // frees the chunk's views before the next chunk
        long len = Math.min(step, n - r0);
        Tensor x = logits.narrow(0, r0, len);                                 // (len, V)
        Tensor lsm = scratch.narrow(0, 0, len);                               // (len, V) float32
        Tensor work = twoHalves ? scratch.narrow(0, step, len) : null;        // (len, V) float32
        if (upcast) {
          work.copy_(x);
          if (temperature != 1.0) {
            work.div_(new Scalar(temperature));
          }
          x = work;
        }
        torch.log_softmax_out(lsm, x, 1);
        torch.gather_out(lp.narrow(0, r0, len).unsqueeze(1), lsm, 1, targets.narrow(0, r0, len).unsqueeze(1));
        if (ent != null) {
          torch.exp_out(work, lsm);                                           // p
          torch.special_xlogy_out(work, work, work);                          // p log p, 0 where p = 0
          Tensor e = ent.narrow(0, r0, len);                                   // (len)
          torch.sum_out(e, work, 1);
          e.neg_();
        }
      }
    }
  }

  /**
   * A float32 (n) result on {@code like}'s device, allocated before the chunk loop: chunk results that outlived their
   * chunk would sit in the heap between one chunk's freed temporaries and the next's, and glibc's malloc then grows
   * the heap by a chunk each time instead of reusing it (measured: +640 MiB of RSS at N = 2048, V = 151,936).
   */
  private static Tensor floatRows(Tensor like, long n) {
    return like.new_empty(new long[] {n}, new TensorOptions(ScalarType.Float));
  }

  /**
   * The sampler's inverse-CDF draw ({@link KernelProvider#sampleDraw}): libtorch's CPU cumsum accumulates each row
   * sequentially in double, left to right, like TokenSampler's loop (a {@code sum} would pair and vectorise).
   *
   * @param w (B, K) double weights, 0 for dropped entries; u (B) double uniforms
   * @return (B) int64 positions
   */
  public static Tensor sampleDraw(Tensor w, Tensor u) {
    long k = w.size(1);
    Tensor cdf = w.cumsum(1);                                                               // (B, K) sequential
    Tensor target = u.unsqueeze(1).mul(cdf.narrow(1, k - 1, 1));                            // (B, 1) u * W
    Tensor first = cdf.le(target).sum(new long[] {1}, false, new ScalarTypeOptional(ScalarType.Long)); // (B)
    Tensor ids = torch.arange(new Scalar(k), new TensorOptions(ScalarType.Long)
        .device(new DeviceOptional(w.device())));                                           // (K)
    Tensor last = ids.unsqueeze(0).masked_fill(w.le(new Scalar(0.0)), new Scalar(-1L))
        .amax(new long[] {1}, false).clamp_min(new Scalar(0L));                             // (B) last id with w > 0
    // (0 when no weight is positive, a row of -inf/NaN logits: the reference then returns its first kept id, 0)
    return torch.where(first.lt(new Scalar(k)), first, last);                               // (B)
  }

  /**
   * The sampler's top-p step ({@link KernelProvider#topPFilter}), as transformers' TopPLogitsWarper orders it: an
   * ascending stable sort flipped (so ties put the larger id first), the normalised weights accumulated in that
   * order by libtorch's CPU cumsum (sequential in double, like TokenSampler's loop), and each entry kept while the
   * mass before it is below {@code topP}.
   *
   * @param w (B, K) double weights in id order; topP in (0, 1)
   * @return (B, K) double, the dropped entries 0
   */
  public static Tensor topPFilter(Tensor w, double topP) {
    long k = w.size(1);
    Tensor total = w.cumsum(1).narrow(1, k - 1, 1);                                        // (B, 1) sequential
    T_TensorTensor_T sorted = torch.sort(w, new BoolOptional(true), 1, false);             // ascending, stable
    Tensor desc = sorted.get0().flip(1);                                          // (B, K) ties: larger id first
    Tensor order = sorted.get1().flip(1);                                                  // (B, K) their ids
    Tensor cum = desc.div(total).cumsum(1);                                                // (B, K) sequential
    Tensor before = torch.cat(new TensorVector(torch.zeros(new long[] {w.size(0), 1},
        new TensorOptions(ScalarType.Double).device(new DeviceOptional(w.device()))),
        cum.narrow(1, 0, k - 1)), 1);                                                      // (B, K) mass before
    Tensor keepSorted = before.lt(new Scalar(topP));                                       // (B, K)
    Tensor keep = torch.zeros_like(keepSorted).scatter(1, order, keepSorted);              // (B, K) id order
    return w.masked_fill(keep.logical_not(), new Scalar(0.0));
  }

  /** Group advantages with torch's mean and unbiased std, as VLM-R1 and TRL compute them. */
  public static Tensor groupAdvantages(Tensor rewards, int groupSize, ScaleRewards scale) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope s = new PointerScope()) {
      Tensor r = rewards.to(ScalarType.Float).reshape(-1, groupSize);       // (groups, G)
      if (groupSize == 1) {
        return Scopes.escape(torch.zeros_like(rewards.to(ScalarType.Float)), outer);
      }
      Tensor mean = r.mean(new long[] {1}, true, new org.bytedeco.pytorch.ScalarTypeOptional());
      Tensor centred = r.sub(mean);
      Tensor a;
      switch (scale) {
        case GROUP:
          a = centred.div(torch.std(r, new long[] {1}, true, true).add(new Scalar(1e-4)));
          break;
        case BATCH:
          a = centred.div(torch.std(r.flatten(), true).add(new Scalar(1e-4)));
          break;
        default:
          a = centred;
      }
      return Scopes.escape(a.reshape(-1).contiguous(), outer);
    }
  }

  /**
   * The GRPO loss. Same contract as {@link GrpoKernels#grpoLoss}; when {@code gradOut} is given the gradient is
   * written into it (it may be the logits themselves). Three stages, none holding more than a chunk of (N, V):
   * (1) without autograd, each chunk's log-softmax gives the token log-probs and entropies; (2) autograd over the
   * (B, T) loss graph from those log-probs gives dLoss/dlogp (torch's own min/clamp/where rules); (3) each chunk's
   * log-softmax and gather are rebuilt under autograd and back-propagated with its slice of dLoss/dlogp, so the
   * gradient is autograd's, row for row the same as through one graph over all the logits.
   */
  public static GrpoLossResult grpoLoss(Tensor logits, Tensor completionIds, Tensor completionMask,
      Tensor advantages, Tensor oldLogps, Tensor refLogps, GrpoLossConfig cfg, Tensor gradOut) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope s = new PointerScope()) {
      long b = logits.size(0);
      long t = logits.size(1);
      long v = logits.size(2);
      long n = b * t;
      double temperature = cfg.temperature();
      Tensor rows = logits.detach().reshape(n, v);                             // (N, V) view
      Tensor ids = completionIds.reshape(n);                                   // (N)
      Tensor lpRows = floatRows(logits, n);                                    // (N)
      Tensor entRows = floatRows(logits, n);                                   // (N)
      try (NoGradGuard ng = new NoGradGuard()) {
        logProbRows(rows, ids, temperature, lpRows, entRows);
      }
      Tensor lp = lpRows.reshape(b, t).detach();                               // (B, T) leaf of the loss graph
      lp.set_requires_grad(true);
      LossGraph graph = lossGraph(lp, completionIds, completionMask, advantages, oldLogps, refLogps, cfg);
      graph.loss().backward();
      Tensor dLogp = lp.grad().reshape(n);                                      // (N) dLoss/dlogp
      Tensor out = gradOut != null ? gradOut : torch.empty_like(logits);        // (B, T, V) in the logits' dtype
      Tensor outRows = out.view(n, v);                                         // (N, V)
      long step = chunkRows(LOSS_CHUNK_ELEMENTS, v);
      for (long r0 = 0; r0 < n; r0 += step) {
        try (PointerScope cs = new PointerScope()) {
          long len = Math.min(step, n - r0);
          // A leaf for this chunk: a float32 view of the logits (or a float32 copy of bf16 ones); when gradOut is
          // the logits, its rows are overwritten only after their own chunk's backward has read them.
          Tensor xc = rows.narrow(0, r0, len);                                 // (len, V)
          xc = TensorChecks.dtype(xc) != ScalarType.Float ? xc.to(ScalarType.Float) : xc.detach();
          xc.set_requires_grad(true);
          Tensor z = temperature == 1.0 ? xc : xc.div(new Scalar(temperature));
          Tensor lpc = torch.log_softmax(z, 1).gather(1, ids.narrow(0, r0, len).unsqueeze(1)).squeeze(1);
          lpc.backward(dLogp.narrow(0, r0, len), new BoolOptional(), false, null);
          outRows.narrow(0, r0, len).copy_(xc.grad());
        }
      }
      return new GrpoLossResult(graph.loss().item_double(), gradOut != null ? gradOut : Scopes.escape(out, outer),
          Scopes.escape(lp.detach().contiguous(), outer), graph.metrics(entRows.reshape(b, t)));
    }
  }

  /**
   * The GRPO loss graph over (B, T) token log-probs, as VLM-R1 and TRL build it, with what the metrics need.
   *
   * @param loss the scalar loss (times cfg.lossScale())
   * @param ratio (B, T) exp(logp - old)
   * @param kl (B, T) the k3 estimator, or null when beta = 0
   * @param a (B, 1) float32 advantages
   * @param m (B, T) float32 mask
   */
  private record LossGraph(Tensor loss, Tensor ratio, Tensor kl, Tensor a, Tensor m, GrpoLossConfig cfg) {
    /** TRL's metrics: KL and entropy means over unmasked tokens, and the clip ratios. */
    GrpoLossMetrics metrics(Tensor entropy) {
      Tensor msum = m.sum().clamp_min(new Scalar(1));
      double ent = entropy.mul(m).sum().div(msum).item_double();
      double klMean = kl == null ? 0 : kl.detach().mul(m).sum().div(msum).item_double();
      Tensor low = ratio.detach().lt(new Scalar(1 - cfg.epsilonLow())).logical_and(a.lt(new Scalar(0)));
      Tensor high = ratio.detach().gt(new Scalar(1 + cfg.epsilonHigh())).logical_and(a.gt(new Scalar(0)));
      double lowMean = low.to(ScalarType.Float).mul(m).sum().div(msum).item_double();
      double highMean = high.to(ScalarType.Float).mul(m).sum().div(msum).item_double();
      double regionMean = low.logical_or(high).to(ScalarType.Float).mul(m).sum().div(msum).item_double();
      return new GrpoLossMetrics(klMean, ent, lowMean, highMean, regionMean);
    }
  }

  /**
   * Builds the loss graph from {@code lp} (B, T), a leaf that requires grad; throws on a non-finite log-prob at an
   * unmasked token. Every LossType sums per-token terms whose weights depend only on the mask and cfg, so
   * dLoss/dlogp of a token depends on that token's log-probs alone.
   */
  private static LossGraph lossGraph(Tensor lp, Tensor completionIds, Tensor completionMask, Tensor advantages,
      Tensor oldLogps, Tensor refLogps, GrpoLossConfig cfg) {
    long b = lp.size(0);
    Tensor m = completionMask.to(ScalarType.Float);                            // (B, T)
    Tensor on = m.ne(new Scalar(0));
    checkFinite("policy", lp.detach(), on, completionIds);
    if (oldLogps != null) {
      checkFinite("old", oldLogps, on, completionIds);
    }
    if (refLogps != null) {
      checkFinite("reference", refLogps, on, completionIds);
    }
    // Masked positions may hold -inf (e.g. a pad id); keep them out of every term so no 0 * inf appears.
    Tensor lpSafe = torch.where(on, lp, new Scalar(0));
    Tensor old = oldLogps != null ? torch.where(on, oldLogps, new Scalar(0)) : lpSafe.detach();
    Tensor ratio = lpSafe.sub(old).exp();
    Tensor clipped = torch.clamp(ratio, new ScalarOptional(new Scalar(1 - cfg.epsilonLow())),
        new ScalarOptional(new Scalar(1 + cfg.epsilonHigh())));
    Tensor a = advantages.to(ScalarType.Float).unsqueeze(1);                   // (B, 1)
    Tensor l1 = ratio.mul(a);
    Tensor l2 = clipped.mul(a);
    Tensor perToken = torch.minimum(l1, l2).neg();
    Tensor kl = null;
    if (cfg.beta() != 0) {
      Tensor delta = torch.where(on, refLogps, new Scalar(0)).sub(lpSafe);
      kl = delta.exp().sub(delta).sub(new Scalar(1));
      perToken = perToken.add(kl.mul(new Scalar(cfg.beta())));
    }
    Tensor masked = perToken.mul(m);
    Tensor loss;
    switch (cfg.lossType()) {
      case GRPO:
        loss = masked.sum(1).div(m.sum(1).clamp_min(new Scalar(1))).mean();
        break;
      case BNPO:
        loss = masked.sum().div(m.sum().clamp_min(new Scalar(1)));
        break;
      case DR_GRPO:
        loss = masked.sum().div(new Scalar((double) b * cfg.maxCompletionLength()));
        break;
      case DAPO:
        loss = masked.sum().div(cfg.dapoTokenCount() > 0 ? torch.scalar_tensor(new Scalar(cfg.dapoTokenCount()))
            : m.sum().clamp_min(new Scalar(1)));
        break;
      default:
        throw new IllegalStateException("unhandled " + cfg.lossType());
    }
    return new LossGraph(loss.mul(new Scalar(cfg.lossScale())), ratio, kl, a, m, cfg);
  }

  /**
   * The composite of {@link GrpoKernels#grpoLossFromHidden}, chunked like the native path and without autograd over
   * any (rows, V) tensor. Per chunk of rows: logits = hidden @ W^T (in the hidden states' dtype, then float32 / T in
   * a buffer kept between calls); their log-probs and entropies; dLoss/dlogp of the chunk's tokens from the (B, T)
   * loss graph over the log-probs so far (exact: a token's gradient depends on its own log-probs only, see
   * {@link #lossGraph}); the logits' gradient written over the buffer, which is autograd's log-softmax backward
   * (grad - exp(lsm) * sum(grad), grad being dLoss/dlogp at the target) and the division's; then
   * dHidden = dLogits @ W and dW += dLogits^T @ hidden, accumulated in float32 (bf16 gradients rounded to bf16 first,
   * as the logits' dtype holds them). The chunk's float32 logits take about {@code chunkRows} x V x the hidden
   * states' element size bytes (bf16 inputs get half the rows).
   */
  public static GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor lmHeadWeight, Tensor completionIds,
      Tensor completionMask, Tensor advantages, Tensor oldLogps, Tensor refLogps, GrpoLossConfig cfg,
      int chunkRows) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      long b = hidden.size(0);
      long t = hidden.size(1);
      long h = hidden.size(2);
      long v = lmHeadWeight.size(0);
      long n = b * t;
      ScalarType dtype = TensorChecks.dtype(hidden);
      boolean f32 = dtype == ScalarType.Float;
      double temperature = cfg.temperature();
      Tensor h2 = hidden.reshape(n, h);                                        // (N, H)
      Tensor ids = completionIds.reshape(n);                                   // (N)
      Tensor weightT = lmHeadWeight.t();                                       // (H, V) view
      Tensor gradHidden = torch.empty_like(h2);                                // (N, H)
      Tensor gradWeight = null;                                                // (V, H) float32, from the 1st chunk
      Tensor lpRows = floatRows(hidden, n).zero_();                            // (N) rows not yet computed: 0
      Tensor entRows = floatRows(hidden, n);                                   // (N)
      long step = Math.max(1, Math.min(n, (long) chunkRows * hidden.element_size() / 4));
      Tensor buffer = n == 0 ? null : LogitsBuffer.COMPOSITE_CHUNK.rows(step, v, ScalarType.Float, hidden);
      for (long r0 = 0; r0 < n; r0 += step) {
        try (PointerScope cs = new PointerScope()) {
          long len = Math.min(step, n - r0);
          Tensor hc = h2.narrow(0, r0, len);                                   // (len, H)
          Tensor idx = ids.narrow(0, r0, len).unsqueeze(1);                    // (len, 1)
          Tensor z = buffer.narrow(0, 0, len);                                 // (len, V) float32
          if (f32) {
            torch.mm_out(z, hc, weightT);
          } else {
            z.copy_(hc.mm(weightT)); // the logits in bf16, as the full-logits composite and the native path have them
          }
          if (temperature != 1.0) {
            z.div_(new Scalar(temperature));
          }
          logProbRows(z, ids.narrow(0, r0, len), 1.0, lpRows.narrow(0, r0, len), entRows.narrow(0, r0, len));
          Tensor dLogp = logpGrad(lpRows, b, t, completionIds, completionMask, advantages, oldLogps, refLogps, cfg)
              .narrow(0, r0, len).unsqueeze(1);                                // (len, 1)
          torch.log_softmax_out(z, z, 1);
          z.exp_().mul_(dLogp.neg()).scatter_add_(1, idx, dLogp);              // dLoss/d(logits / T)
          if (temperature != 1.0) {
            z.div_(new Scalar(temperature));                                   // dLoss/dlogits
          }
          Tensor g = z;                                                        // (len, V) in the hidden dtype
          if (!f32) {
            g = z.to(dtype);
            z.copy_(g); // the float32 copy now holds the bf16 values, for the float32 dW below
          }
          torch.mm_out(gradHidden.narrow(0, r0, len), g, lmHeadWeight);       // (len, H)
          Tensor hf = f32 ? hc : hc.to(ScalarType.Float);                      // (len, H)
          if (gradWeight == null) {
            gradWeight = Scopes.escape(z.t().mm(hf), s);                       // (V, H) = (V, len) @ (len, H)
          } else {
            gradWeight.addmm_(z.t(), hf);
          }
        }
      }
      if (gradWeight == null) { // no rows
        gradWeight = hidden.new_zeros(new long[] {v, h}, new TensorOptions(ScalarType.Float));
      }
      Tensor lp = lpRows.reshape(b, t);                                        // (B, T)
      LossGraph graph = lossGraph(lp, completionIds, completionMask, advantages, oldLogps, refLogps, cfg);
      Tensor gw = f32 ? gradWeight : gradWeight.to(dtype);
      return new GrpoHiddenLossResult(graph.loss().item_double(), Scopes.escape(gradHidden.reshape(b, t, h), outer),
          Scopes.escape(gw, outer), Scopes.escape(lp, outer), graph.metrics(entRows.reshape(b, t)));
    }
  }

  /** dLoss/dlogp (N) of the loss graph over {@code lpRows} (N) as (B, T): autograd over (B, T) only. */
  private static Tensor logpGrad(Tensor lpRows, long b, long t, Tensor completionIds, Tensor completionMask,
      Tensor advantages, Tensor oldLogps, Tensor refLogps, GrpoLossConfig cfg) {
    try (AutoGradMode on = new AutoGradMode(true)) {
      Tensor lp = lpRows.reshape(b, t).detach().clone();                       // (B, T) leaf
      lp.set_requires_grad(true);
      lossGraph(lp, completionIds, completionMask, advantages, oldLogps, refLogps, cfg).loss().backward();
      return lp.grad().reshape(b * t);                                         // (N)
    }
  }

  private static void checkFinite(String which, Tensor logps, Tensor on, Tensor ids) {
    long bad = TensorChecks.firstTrue(torch.isfinite(logps).logical_not().logical_and(on));
    if (bad >= 0) {
      long t = logps.size(1);
      throw new IllegalArgumentException("grpo_loss: non-finite " + which + " log-prob at unmasked token " + bad
          + " (sequence " + bad / t + ", position " + bad % t + ", id "
          + ids.flatten().get(bad).item_long() + ": " + logps.flatten().get(bad).item_double() + ")");
    }
  }
}
