// The libtorch-composite references of the fused kernels: log_softmax / logsumexp / gather / autograd, exactly the
// math of VLM-R1-SPEC.md 4.3-4.4 and TRL. They are the test oracle of the native kernels and their fallback when the
// native library cannot load (and on devices without native twins). They run in row chunks of about 2^18-2^20
// logits, so beyond their inputs and outputs they hold O(chunk x V) memory, never an (N, V) temporary (issue 18: the
// full-logits versions took 2.4 GB / 4.8 GB at N = 2048, V = 151,936, more than TRL's PyTorch code).
// bf16 inputs are upcast to float32 chunk by chunk (VLM-R1 runs its log-softmax in bf16; we deliberately do not).
package org.vlmr1.kernels;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reference implementations with the same contract as {@link GrpoKernels}. Callers normally use GrpoKernels, which
 * validates arguments and picks the backend; these methods assume validated arguments (see GrpoKernels' Javadoc).
 */
public final class CompositeKernels {
  /**
   * Logits per row chunk of the token log-probs (2 MiB of float32, three Qwen rows): their chunk temporaries are all
   * of their extra memory. A one-row chunk reduces on one thread (libtorch splits a row-wise logsumexp by rows), so
   * it was 2x slower; measured on a quiet 2-core machine at N = 2048, V = 151,936 (`bench kernels --ops
   * tokenLogProbs`): one row 802 ms / +9.7 MiB, three rows 416 ms / +14.3 MiB, six rows 377 ms / +30 MiB.
   */
  static final long CHUNK_ELEMENTS = 1L << 19;

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

  /**
   * log_softmax(logits.float() / T).gather(targets) and, optionally, the row entropy, in row chunks without autograd:
   * without entropy as gather - logsumexp (TRL's selective_log_softmax), with it through the chunk's log-softmax.
   */
  public static TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      long n = logits.size(0);
      long step = chunkRows(CHUNK_ELEMENTS, logits.size(1));
      Tensor lp = floatRows(logits, n);                                        // (N)
      Tensor ent = withEntropy ? floatRows(logits, n) : null;                 // (N)
      for (long r0 = 0; r0 < n; r0 += step) {
        try (PointerScope cs = new PointerScope()) { // frees the chunk's temporaries before the next chunk
          long len = Math.min(step, n - r0);
          Tensor z = scaledRows(logits, r0, len, temperature);                // (len, V) float32
          Tensor idx = targets.narrow(0, r0, len).unsqueeze(1);               // (len, 1)
          if (withEntropy) {
            Tensor lsm = torch.log_softmax(z, 1);                              // (len, V)
            lp.narrow(0, r0, len).copy_(lsm.gather(1, idx).squeeze(1));
            ent.narrow(0, r0, len).copy_(entropyRows(lsm));
          } else {
            lp.narrow(0, r0, len).copy_(z.gather(1, idx).squeeze(1).sub(torch.logsumexp(z, new long[] {1}, false)));
          }
        }
      }
      return new TokenLogProbs(Scopes.escape(lp, outer), Scopes.escape(ent, outer));
    }
  }

  /**
   * Rows [r0, r0 + len) of (N, V) logits as float32 divided by the temperature: a view when they already are float32
   * and T = 1 (no copy), else one chunk-sized tensor.
   */
  private static Tensor scaledRows(Tensor logits, long r0, long len, double temperature) {
    Tensor x = logits.narrow(0, r0, len);                                      // (len, V)
    if (TensorChecks.dtype(x) != ScalarType.Float) {
      x = x.to(ScalarType.Float);
    }
    return temperature == 1.0 ? x : x.div(new Scalar(temperature));
  }

  /**
   * A float32 (n) result on {@code like}'s device, allocated before the chunk loop: chunk results that outlived their
   * chunk would sit in the heap between one chunk's freed temporaries and the next's, and glibc's malloc then grows
   * the heap by a chunk each time instead of reusing it (measured: +640 MiB of RSS at N = 2048, V = 151,936).
   */
  private static Tensor floatRows(Tensor like, long n) {
    return like.new_empty(new long[] {n}, new TensorOptions(ScalarType.Float));
  }

  /** -sum p log p of each row of a (len, V) log-softmax chunk; 0 * log 0 counts as 0. */
  private static Tensor entropyRows(Tensor lsm) {
    Tensor p = lsm.exp();                                                     // (len, V)
    return torch.special_xlogy(p, p).sum(1).neg();                            // (len)
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
      long step = chunkRows(LOSS_CHUNK_ELEMENTS, v);
      Tensor lpRows;
      Tensor entRows;
      try (NoGradGuard ng = new NoGradGuard()) {
        lpRows = floatRows(logits, n);                                         // (N)
        entRows = floatRows(logits, n);                                        // (N)
        for (long r0 = 0; r0 < n; r0 += step) {
          try (PointerScope cs = new PointerScope()) {
            long len = Math.min(step, n - r0);
            Tensor lsm = torch.log_softmax(scaledRows(rows, r0, len, temperature), 1); // (len, V)
            lpRows.narrow(0, r0, len).copy_(lsm.gather(1, ids.narrow(0, r0, len).unsqueeze(1)).squeeze(1));
            entRows.narrow(0, r0, len).copy_(entropyRows(lsm));
          }
        }
      }
      Tensor lp = lpRows.reshape(b, t).detach();                               // (B, T) leaf of the loss graph
      lp.set_requires_grad(true);
      Tensor m = completionMask.to(ScalarType.Float);                          // (B, T)
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
      Tensor a = advantages.to(ScalarType.Float).unsqueeze(1);                 // (B, 1)
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
      loss = loss.mul(new Scalar(cfg.lossScale()));
      loss.backward();
      Tensor dLogp = lp.grad().reshape(n);                                      // (N) dLoss/dlogp
      Tensor out = gradOut != null ? gradOut : torch.empty_like(logits);        // (B, T, V) in the logits' dtype
      Tensor outRows = out.view(n, v);                                         // (N, V)
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
      Tensor msum = m.sum().clamp_min(new Scalar(1));
      double ent = entRows.reshape(b, t).mul(m).sum().div(msum).item_double();
      double klMean = kl == null ? 0 : kl.detach().mul(m).sum().div(msum).item_double();
      Tensor low = ratio.detach().lt(new Scalar(1 - cfg.epsilonLow())).logical_and(a.lt(new Scalar(0)));
      Tensor high = ratio.detach().gt(new Scalar(1 + cfg.epsilonHigh())).logical_and(a.gt(new Scalar(0)));
      double lowMean = low.to(ScalarType.Float).mul(m).sum().div(msum).item_double();
      double highMean = high.to(ScalarType.Float).mul(m).sum().div(msum).item_double();
      double regionMean = low.logical_or(high).to(ScalarType.Float).mul(m).sum().div(msum).item_double();
      GrpoLossMetrics metrics = new GrpoLossMetrics(klMean, ent, lowMean, highMean, regionMean);
      return new GrpoLossResult(loss.item_double(), gradOut != null ? gradOut : Scopes.escape(out, outer),
          Scopes.escape(lp.detach().contiguous(), outer), metrics);
    }
  }

  /**
   * The full-logits composite of {@link GrpoKernels#grpoLossFromHidden}: logits = hidden @ W^T materialised, the
   * composite loss with the gradient written over them, then dHidden = dLogits @ W and dW = dLogits^T @ hidden.
   */
  public static GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor lmHeadWeight, Tensor completionIds,
      Tensor completionMask, Tensor advantages, Tensor oldLogps, Tensor refLogps, GrpoLossConfig cfg) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope s = new PointerScope()) {
      long b = hidden.size(0);
      long t = hidden.size(1);
      long h = hidden.size(2);
      Tensor h2 = hidden.reshape(b * t, h);                                      // (N, H)
      Tensor logits = h2.mm(lmHeadWeight.t()).reshape(b, t, -1);                 // (B, T, V)
      // The logits are dead once the loss has read them: their buffer takes the gradient (one (N, V) less).
      GrpoLossResult r = grpoLoss(logits, completionIds, completionMask, advantages, oldLogps, refLogps, cfg, logits);
      Tensor g = r.gradLogits().reshape(b * t, -1);                             // (N, V)
      Tensor gradHidden = g.mm(lmHeadWeight).reshape(b, t, h);                   // (B, T, H)
      Tensor gradWeight = g.t().mm(h2);                                          // (V, H)
      return new GrpoHiddenLossResult(r.loss(), Scopes.escape(gradHidden, outer), Scopes.escape(gradWeight, outer),
          Scopes.escape(r.perTokenLogps(), outer), r.metrics());
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
