// Batched generation shared by the families (ARCHITECTURES.md C1, transformers semantics): prefill the left-padded
// batch into a KV cache, then one token per step for every row; a row that emitted any EOS id gets the pad id after,
// and the completion mask runs through the first EOS inclusive. Each token's draw is TokenSampler's pure function of
// (seed, step, global sample index, position), so which process or batch a row lands in does not matter.
package org.vlmr1.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** The decode loop over a family's {@link Decoding}. */
public final class Generator {
  private Generator() {}

  /** What a family supplies: a prefill and a one-token step over its own cache and position rule. */
  public interface Decoding {
    /** Runs the prompt batch, fills {@code cache}, returns the last position's logits (B, V). */
    Tensor prefill(KvCache cache);

    /**
     * One step: {@code tokens} (B, 1) appended to the cache.
     *
     * @param fullMask (B, T + 1) row-major attention mask including the new token
     * @return (B, V) logits of the new position
     */
    Tensor step(Tensor tokens, long[] fullMask, KvCache cache);
  }

  /**
   * @param ids (B, N) int64 completion ids, the pad id after a row's EOS
   * @param mask (B, N) int64, 1 through the first EOS inclusive
   * @param stepLogits per-step (B, V) logits when asked for (parity checks), else null
   */
  public record Result(long[][] ids, long[][] mask, List<float[][]> stepLogits) {}

  /**
   * @param promptMask (B, L) row-major prompt attention mask (all ones when the batch has no padding)
   * @param step the optimizer step, for the random streams
   * @param firstSampleIndex the global index of row 0 (rows are firstSampleIndex + b)
   */
  public static Result run(Decoding d, KvCache cache, long[] promptMask, int b, int l, SamplingConfig cfg,
      long[] eosIds, long padId, long step, long firstSampleIndex, boolean keepLogits) {
    int n = cfg.maxNewTokens();
    long[][] out = new long[b][n];
    long[][] outMask = new long[b][n];
    boolean[] done = new boolean[b];
    List<float[][]> kept = keepLogits ? new ArrayList<>() : null;
    long[] mask = promptMask;
    long[] picked;
    try (PointerScope s = new PointerScope()) {
      picked = pick(d.prefill(cache), cfg, step, firstSampleIndex, 0, kept);
    }
    int len = l;
    for (int t = 0; t < n; t++) {
      long[] next = new long[b];
      for (int r = 0; r < b; r++) {
        if (done[r]) {
          next[r] = padId;
          continue;
        }
        next[r] = picked[r];
        outMask[r][t] = 1;
        for (long e : eosIds) {
          done[r] |= next[r] == e;
        }
      }
      for (int r = 0; r < b; r++) {
        out[r][t] = next[r];
      }
      boolean all = true;
      for (boolean x : done) {
        all &= x;
      }
      if (all || t == n - 1) {
        for (int r = 0; r < b; r++) {
          Arrays.fill(out[r], t + 1, n, padId);
        }
        break;
      }
      long[] grown = new long[b * (len + 1)];
      for (int r = 0; r < b; r++) {
        System.arraycopy(mask, r * len, grown, r * (len + 1), len);
        grown[r * (len + 1) + len] = 1; // transformers appends 1 for every row, finished or not
      }
      mask = grown;
      len++;
      try (PointerScope s = new PointerScope()) {
        picked = pick(d.step(torch.tensor(next).reshape(b, 1), mask, cache), cfg, step, firstSampleIndex, t + 1, kept);
      }
    }
    return new Result(out, outMask, kept);
  }

  /**
   * Every row's next id at completion position {@code t}, chosen on the logits' device by {@link TensorSampler} (the
   * same id as {@link TokenSampler#next} on the row); only the B ids reach Java, and the logits too when kept.
   *
   * @param logits (B, V)
   */
  static long[] pick(Tensor logits, SamplingConfig cfg, long step, long firstSampleIndex, long t,
      List<float[][]> kept) {
    if (kept != null) {
      kept.add(rows(logits));
    }
    int b = (int) logits.size(0);
    Tensor u = cfg.greedy() ? null : TensorSampler.uniforms(cfg, step, firstSampleIndex, b, t, logits); // (B)
    Tensor ids = TensorSampler.next(logits, cfg, u).to(ScalarType.Long).cpu().contiguous();            // (B)
    long[] out = new long[b];
    ids.data_ptr_long().get(out);
    return out;
  }

  /** (B, V) logits as float rows (the float32 cast transformers applies before the processors). */
  static float[][] rows(Tensor logits) {
    Tensor c = logits.to(ScalarType.Float).contiguous();
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

  /** n ones: the mask of an unpadded batch. */
  public static long[] ones(int n) {
    long[] o = new long[n];
    Arrays.fill(o, 1L);
    return o;
  }
}
