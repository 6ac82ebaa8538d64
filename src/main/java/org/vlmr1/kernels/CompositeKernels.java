// The libtorch-composite references of the fused kernels: plain log_softmax / gather / autograd, exactly the math of
// VLM-R1-SPEC.md 4.3-4.4 and TRL. They are the test oracle of the native kernels and their fallback when the native
// library cannot load. They materialise (N, V) intermediates, so they are slow and memory-hungry by design.
// bf16 inputs are upcast to float32 here (VLM-R1 runs its log-softmax in bf16; we deliberately do not).
package org.vlmr1.kernels;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reference implementations with the same contract as {@link GrpoKernels}. Callers normally use GrpoKernels, which
 * validates arguments and picks the backend; these methods assume validated arguments (see GrpoKernels' Javadoc).
 */
public final class CompositeKernels {
  private CompositeKernels() {}

  /** log_softmax(logits.float() / T).gather(targets) and, optionally, the row entropy. */
  public static TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor x = logits.to(ScalarType.Float).div(new Scalar(temperature)); // (N, V)
      Tensor lsm = torch.log_softmax(x, 1);                                // (N, V)
      Tensor lp = lsm.gather(1, targets.unsqueeze(1)).squeeze(1);           // (N)
      Tensor ent = withEntropy ? entropy(lsm) : null;
      return new TokenLogProbs(Scopes.escape(lp.contiguous(), outer), Scopes.escape(ent, outer));
    }
  }

  /**
   * -sum p log p over the last dimension, from log-probs, in chunks of 128 rows as TRL's entropy_from_logits does (so
   * the metric does not add two (N, V) temporaries to the composite's peak); 0 * log 0 counts as 0.
   */
  static Tensor entropy(Tensor logProbs) {
    long v = logProbs.size(-1);
    Tensor rows = logProbs.reshape(-1, v);                                    // (N, V)
    long n = rows.size(0);
    Tensor out = torch.empty(new long[] {n}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Float), null);
    for (long r0 = 0; r0 < n; r0 += ENTROPY_CHUNK) {
      try (PointerScope s = new PointerScope()) {
        long len = Math.min(ENTROPY_CHUNK, n - r0);
        Tensor p = rows.narrow(0, r0, len).exp();
        out.narrow(0, r0, len).copy_(torch.special_xlogy(p, p).sum(1).neg());
      }
    }
    long[] shape = TensorChecks.shape(logProbs);
    return out.reshape(java.util.Arrays.copyOf(shape, shape.length - 1));
  }

  private static final long ENTROPY_CHUNK = 128;

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
   * The GRPO loss through autograd over the full logits. Same contract as {@link GrpoKernels#grpoLoss}; when
   * {@code gradOut} is given the gradient is copied into it.
   */
  public static GrpoLossResult grpoLoss(Tensor logits, Tensor completionIds, Tensor completionMask,
      Tensor advantages, Tensor oldLogps, Tensor refLogps, GrpoLossConfig cfg, Tensor gradOut) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope s = new PointerScope()) {
      long b = logits.size(0);
      Tensor x = logits.detach().to(ScalarType.Float).detach();               // (B, T, V) leaf
      x.set_requires_grad(true);
      Tensor lsm = torch.log_softmax(x.div(new Scalar(cfg.temperature())), 2);  // (B, T, V)
      Tensor lp = lsm.gather(2, completionIds.unsqueeze(2)).squeeze(2);        // (B, T)
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
      Tensor grad = x.grad();
      if (gradOut != null) {
        gradOut.copy_(grad);
        grad = gradOut;
      } else {
        grad = grad.to(logits.scalar_type());
      }
      Tensor msum = m.sum().clamp_min(new Scalar(1));
      double ent = entropy(lsm.detach()).mul(m).sum().div(msum).item_double();
      double klMean = kl == null ? 0 : kl.detach().mul(m).sum().div(msum).item_double();
      Tensor low = ratio.detach().lt(new Scalar(1 - cfg.epsilonLow())).logical_and(a.lt(new Scalar(0)));
      Tensor high = ratio.detach().gt(new Scalar(1 + cfg.epsilonHigh())).logical_and(a.gt(new Scalar(0)));
      double lowMean = low.to(ScalarType.Float).mul(m).sum().div(msum).item_double();
      double highMean = high.to(ScalarType.Float).mul(m).sum().div(msum).item_double();
      double regionMean = low.logical_or(high).to(ScalarType.Float).mul(m).sum().div(msum).item_double();
      GrpoLossMetrics metrics = new GrpoLossMetrics(klMean, ent, lowMean, highMean, regionMean);
      return new GrpoLossResult(loss.item_double(), gradOut != null ? gradOut : Scopes.escape(grad, outer),
          Scopes.escape(lp.detach().contiguous(), outer), metrics);
    }
  }

  /**
   * The full-logits composite of {@link GrpoKernels#grpoLossFromHidden}: logits = hidden @ W^T materialised, the
   * composite loss, then dHidden = dLogits @ W and dW = dLogits^T @ hidden.
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
      GrpoLossResult r = grpoLoss(logits, completionIds, completionMask, advantages, oldLogps, refLogps, cfg, null);
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
