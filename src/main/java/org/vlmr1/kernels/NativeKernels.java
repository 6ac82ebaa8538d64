// The native backend of GrpoKernels: allocates outputs with libtorch, hands raw pointers to our C++ kernels.
// Arguments arrive validated (GrpoKernels), contiguous, with small operands already float32.
package org.vlmr1.kernels;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Calls into {@link GrpoNative}. Package-private: {@link GrpoKernels} is the API. */
final class NativeKernels {
  private NativeKernels() {}

  private static Tensor emptyFloat(long... shape) {
    return torch.empty(shape, new TensorOptions(ScalarType.Float), null);
  }

  private static FloatPointer floats(Tensor t) {
    return t == null ? null : t.data_ptr_float();
  }

  static TokenLogProbs tokenLogProbs(Tensor logits, int dtype, Tensor targets, double temperature,
      boolean withEntropy) {
    long n = logits.size(0);
    Tensor lp = emptyFloat(n);                          // (N)
    Tensor ent = withEntropy ? emptyFloat(n) : null;    // (N)
    GrpoNative.token_logprobs(logits.data_ptr(), dtype, targets.data_ptr_long(), n, logits.size(1), temperature,
        lp.data_ptr_float(), floats(ent));
    return new TokenLogProbs(lp, ent);
  }

  static Tensor groupAdvantages(Tensor rewards, int groupSize, ScaleRewards scale) {
    Tensor out = emptyFloat(rewards.numel());
    GrpoNative.group_advantages(rewards.data_ptr_float(), rewards.numel(), groupSize, scale.code,
        out.data_ptr_float());
    return out;
  }

  /** Loss over all B*T rows of a materialised (B, T, V) logits tensor. */
  static GrpoLossResult grpoLoss(Tensor logits, int dtype, Tensor ids, Tensor mask, Tensor adv, Tensor old,
      Tensor ref, GrpoLossConfig cfg, Tensor gradOut) {
    long b = logits.size(0);
    long t = logits.size(1);
    long n = b * t;
    Tensor grad = gradOut != null ? gradOut : torch.empty_like(logits);   // (B, T, V)
    Tensor logps = emptyFloat(b, t);                                        // (B, T)
    Tensor stats = emptyFloat(n, GrpoNative.TOKEN_STATS);                   // (N, 4)
    lossRows(logits, dtype, grad, 0, n, logits.size(2), b, t, ids, mask, adv, old, ref, cfg, logps, stats);
    Reduced r = reduce(n, mask, stats);
    return new GrpoLossResult(r.loss(), grad, logps, r.metrics());
  }

  /**
   * Fused linear + GRPO loss: logits of {@code chunkRows} rows at a time (libtorch matmul), our kernel for the loss
   * and the logits gradient in place, then matmuls for dHidden and dW, so at most chunkRows x V logits exist.
   */
  static GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, int dtype, Tensor weight, Tensor ids, Tensor mask,
      Tensor adv, Tensor old, Tensor ref, GrpoLossConfig cfg, int chunkRows) {
    long b = hidden.size(0);
    long t = hidden.size(1);
    long h = hidden.size(2);
    long v = weight.size(0);
    long n = b * t;
    boolean bf16 = dtype == GrpoNative.DTYPE_BF16;
    Tensor h2 = hidden.reshape(n, h);                                        // (N, H)
    Tensor gradHidden = torch.empty_like(h2);                                // (N, H)
    // dW accumulates over chunks in float32 even for bf16 weights, then is cast once; the first chunk's matmul
    // creates it (no zero fill, and no accumulation pass when one chunk holds every row).
    Tensor gradWeight = null;                                                // (V, H)
    Tensor logps = emptyFloat(b, t);                                         // (B, T)
    Tensor stats = emptyFloat(n, GrpoNative.TOKEN_STATS);                    // (N, 4)
    Tensor weightT = weight.t();                                             // (H, V) view
    PointerScope outer = PointerScope.getInnerScope();
    Tensor buffer = LogitsBuffer.FUSED_CHUNK.rows(Math.min(chunkRows, n), v, weight); // (chunk, V), kept
    for (long r0 = 0; r0 < n; r0 += chunkRows) {
      long rows = Math.min(chunkRows, n - r0);
      try (PointerScope chunk = new PointerScope()) {
        Tensor hc = h2.narrow(0, r0, rows);                                  // (rows, H)
        Tensor logits = buffer.narrow(0, 0, rows);                           // (rows, V), the only logits alive
        torch.mm_out(logits, hc, weightT);
        lossRows(logits, dtype, logits, r0, rows, v, b, t, ids, mask, adv, old, ref, cfg, logps, stats);
        torch.mm_out(gradHidden.narrow(0, r0, rows), logits, weight);       // (rows, H)
        Tensor gl = bf16 ? logits.t().to(ScalarType.Float) : logits.t();    // (V, rows)
        Tensor hf = bf16 ? hc.to(ScalarType.Float) : hc;                     // (rows, H)
        if (gradWeight == null) {
          gradWeight = Scopes.escape(gl.mm(hf), outer);                       // (V, H) = (V, rows) @ (rows, H)
        } else {
          gradWeight.addmm_(gl, hf);
        }
      }
    }
    if (gradWeight == null) { // no rows
      gradWeight = torch.zeros(new long[] {v, h}, new TensorOptions(ScalarType.Float));
    }
    Reduced r = reduce(n, mask, stats);
    Tensor gw = bf16 ? gradWeight.to(ScalarType.BFloat16) : gradWeight;
    return new GrpoHiddenLossResult(r.loss(), gradHidden.reshape(b, t, h), gw, logps, r.metrics());
  }

  private static void lossRows(Tensor logits, int dtype, Tensor grad, long rowBegin, long rows, long vocab, long b,
      long t, Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref, GrpoLossConfig cfg, Tensor logps,
      Tensor stats) {
    GrpoNative.grpo_loss_rows(logits.data_ptr(), dtype, grad == null ? null : grad.data_ptr(), rowBegin, rows, vocab,
        b, t, ids.data_ptr_long(), mask.data_ptr_float(), adv.data_ptr_float(), floats(old), floats(ref),
        cfg.epsilonLow(), cfg.epsilonHigh(), cfg.beta(), cfg.temperature(), cfg.lossType().code,
        cfg.maxCompletionLength(), cfg.dapoTokenCount(), cfg.lossScale(), logps.data_ptr_float(),
        stats.data_ptr_float());
  }

  private record Reduced(double loss, GrpoLossMetrics metrics) {}

  /** Fixed-order reduction of the per-token scratch into the loss and TRL's metrics. */
  private static Reduced reduce(long n, Tensor mask, Tensor stats) {
    double[] out = new double[6];
    try (DoublePointer p = new DoublePointer(out.length)) {
      GrpoNative.grpo_loss_reduce(n, mask.data_ptr_float(), stats.data_ptr_float(), p);
      p.get(out);
    }
    return new Reduced(out[0], new GrpoLossMetrics(out[1], out[2], out[3], out[4], out[5]));
  }
}
