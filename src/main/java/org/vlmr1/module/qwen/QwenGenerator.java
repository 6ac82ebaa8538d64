// Batched generation for Qwen2.5-VL with a KV cache and left padding (ARCHITECTURES.md C1, transformers 4.50
// semantics): prefill, then one token per step for every row; a row that emitted any EOS id gets the pad id after.
package org.vlmr1.module.qwen;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.model.TokenSampler;
import org.vlmr1.module.GridThw;

/** Generation loop over a {@link QwenVlModel}. */
public final class QwenGenerator {
  private QwenGenerator() {}

  /**
   * @param ids (B, N) int64 completion ids, the pad id after a row's EOS
   * @param mask (B, N) int64, 1 through the first EOS inclusive
   * @param stepLogits optional per-step (B, V) logits, for parity checks (null unless asked for)
   */
  public record Result(long[][] ids, long[][] mask, List<float[][]> stepLogits) {}

  /**
   * @param firstSampleIndex the global index of row 0 (rows are firstSampleIndex + b), for the random streams
   * @param step the optimizer step, for the random streams
   */
  public static Result generate(QwenVlModel model, Tensor inputIds, Tensor attentionMask, Tensor pixelValues,
      List<GridThw> grids, SamplingConfig cfg, long[] eosIds, long padId, long step, long firstSampleIndex,
      boolean keepLogits) {
    int b = (int) inputIds.size(0);
    int l = (int) inputIds.size(1);
    int n = cfg.maxNewTokens();
    long[][] out = new long[b][n];
    long[][] outMask = new long[b][n];
    boolean[] done = new boolean[b];
    List<float[][]> kept = keepLogits ? new java.util.ArrayList<>() : null;
    long[] mask = attentionMask == null ? filled(b * l) : QwenVlModel.longs(attentionMask);
    try (QwenVlModel.KvCache cache = model.newCache()) {
      Tensor deltas;
      float[][] logits;
      try (PointerScope s = new PointerScope()) {
        QwenVlModel.Output o = model.forward(inputIds, attentionMask, pixelValues, grids, false, cache);
        Tensor last = torch.linear(o.hiddenStates().get(o.hiddenStates().size() - 1).select(1, l - 1),
            model.lmHead());                                                                     // (B, V)
        logits = rows(last);
        deltas = o.positions().ropeDeltas().clone();
        deltas.retainReference();
      }
      int len = l;
      for (int t = 0; t < n; t++) {
        if (kept != null) {
          kept.add(logits);
        }
        long[] next = new long[b];
        for (int r = 0; r < b; r++) {
          if (done[r]) {
            next[r] = padId;
            continue;
          }
          next[r] = TokenSampler.next(logits[r], cfg, step, firstSampleIndex + r);
          outMask[r][t] = 1;
          for (long e : eosIds) {
            done[r] |= next[r] == e;
          }
        }
        for (int r = 0; r < b; r++) {
          out[r][t] = next[r];
        }
        boolean all = true;
        for (boolean d : done) {
          all &= d;
        }
        if (all || t == n - 1) {
          for (int r = 0; r < b; r++) {
            for (int k = t + 1; k < n; k++) {
              out[r][k] = padId;
            }
          }
          break;
        }
        long[] grown = new long[b * (len + 1)];
        for (int r = 0; r < b; r++) {
          System.arraycopy(mask, r * len, grown, r * (len + 1), len);
          grown[r * (len + 1) + len] = 1; // transformers appends 1 for every row
        }
        mask = grown;
        len++;
        try (PointerScope s = new PointerScope()) {
          logits = rows(model.decode(torch.tensor(next).reshape(b, 1), mask, deltas, cache));
        }
      }
      deltas.releaseReference();
    }
    return new Result(out, outMask, kept);
  }

  private static float[][] rows(Tensor logits) {
    Tensor c = logits.to(org.bytedeco.pytorch.global.torch.ScalarType.Float).contiguous();
    int b = (int) c.size(0);
    int v = (int) c.size(1);
    float[] flat = new float[b * v];
    c.data_ptr_float().get(flat);
    float[][] out = new float[b][v];
    for (int r = 0; r < b; r++) {
      System.arraycopy(flat, r * v, out[r], 0, v);
    }
    return out;
  }

  private static long[] filled(int n) {
    long[] o = new long[n];
    java.util.Arrays.fill(o, 1L);
    return o;
  }
}
