// Batched generation shared by the families (ARCHITECTURES.md C1, transformers semantics): prefill the left-padded
// batch into a KV cache, then one token per step for every row; a row that emitted any EOS id gets the pad id after,
// and the completion mask runs through the first EOS inclusive. Each token's draw is TokenSampler's pure function of
// (seed, step, global sample index, position), so which process or batch a row lands in does not matter.
package org.vlmr1.model;

import org.vlmr1.kernels.Devices;
import org.vlmr1.kernels.PrunedHead;
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

    /**
     * Keeps rows {@code index} (repeats allowed) of the decoder's own per-row state, as {@link KvCache#selectRows}
     * does for the cache: prompts become rows after a shared prefill, finished rows leave. Decoders without
     * per-row state keep the default.
     */
    default void selectRows(Tensor index) {}

    /**
     * The plain (V, H) head weight whose product with {@link #stepHidden}'s rows is {@link #step}'s logits, for the
     * pruned head (org.vlmr1.kernels.PrunedHead); null (the default) when the head is not a plain weight (a LoRA
     * term on it) or the decoding does not split its step, and every step then returns logits.
     */
    default Tensor headWeight() {
      return null;
    }

    /** {@link #step} without the head: the (B, H) final-norm rows. Called only when {@link #headWeight} is set. */
    default Tensor stepHidden(Tensor tokens, long[] fullMask, KvCache cache) {
      throw new UnsupportedOperationException("this decoding has no separate head");
    }
  }

  /**
   * @param ids (B, N) int64 completion ids, the pad id after a row's EOS
   * @param mask (B, N) int64, 1 through the first EOS inclusive
   * @param stepLogits per-step (B, V) logits when asked for (parity checks), else null; a row that had left the
   *     batch (finished, compacted away) is null in the steps after
   * @param compactions how many times finished rows left the batch
   */
  public record Result(long[][] ids, long[][] mask, List<float[][]> stepLogits, int compactions) {}

  /** {@link #run(Decoding, KvCache, long[], int, int[], SamplingConfig, long[], long, long, long, boolean,
   * GenerationOptions)} with one row per prompt and the default engine. */
  public static Result run(Decoding d, KvCache cache, long[] promptMask, int b, int l, SamplingConfig cfg,
      long[] eosIds, long padId, long step, long firstSampleIndex, boolean keepLogits) {
    return run(d, cache, promptMask, l, identity(b), cfg, eosIds, padId, step, firstSampleIndex, keepLogits,
        GenerationOptions.DEFAULT);
  }

  /**
   * Prefills the prompts once, gives each row its prompt's cache prefix, then decodes every unfinished row one token
   * per step.
   *
   * @param promptMask (P, L) row-major prompt attention mask of the P prompts the decoding prefills
   * @param rowPrompt the prompt of each completion row (B entries in [0, P)); row r's draws use sample index
   *     firstSampleIndex + r, so rows sharing a prompt draw exactly as they would with the prompt repeated
   * @param step the optimizer step, for the random streams
   */
  public static Result run(Decoding d, KvCache cache, long[] promptMask, int l, int[] rowPrompt,
      SamplingConfig cfg, long[] eosIds, long padId, long step, long firstSampleIndex, boolean keepLogits,
      GenerationOptions opts) {
    int prompts = promptMask.length / l;
    for (int p : rowPrompt) {
      if (p < 0 || p >= prompts) {
        throw new IllegalArgumentException("a row's prompt index " + p + " is not one of the " + prompts
            + " prompts");
      }
    }
    PrunedHead pruned = prunedHead(d, cfg, opts, keepLogits);
    try {
      return decode(d, cache, promptMask, l, rowPrompt, cfg, eosIds, padId, step, firstSampleIndex, keepLogits, opts,
          pruned);
    } finally {
      if (pruned != null) {
        pruned.close();
      }
    }
  }

  /**
   * The pruned head for this loop, or null: when it is asked for ({@link GenerationOptions#pruneHead}, or
   * {@code -Dvlmr1.prunedHead=true}), the steps' choices need only the top k ids (greedy, or top-k below the
   * vocabulary), the tensor sampler chooses, no step's logits are kept, any logit bias declares the ids it overwrites,
   * and the decoding exposes a head that {@link PrunedHead#applies} to ({@code -Dvlmr1.prunedHead=false} refuses).
   */
  private static PrunedHead prunedHead(Decoding d, SamplingConfig cfg, GenerationOptions opts, boolean keepLogits) {
    boolean wanted = opts.pruneHead() || "true".equals(System.getProperty(PrunedHead.PROPERTY));
    if (keepLogits || !wanted || opts.sampler() != GenerationOptions.Sampler.TENSOR
        || (opts.logitBias() != null && opts.logitBias().overwrittenIds() == null)) {
      return null;
    }
    Tensor w = d.headWeight();
    if (w == null || !PrunedHead.applies(w) || !(cfg.greedy() || (cfg.topK() > 0 && cfg.topK() < w.size(0)))) {
      return null;
    }
    return PrunedHead.of(w);
  }

  /**
   * Refuses a completion length whose id and mask buffers (two longs per row and token, allocated up front) would
   * take more than half the heap: 2^31 tokens was a bare "Java heap space" OutOfMemoryError.
   */
  static void checkTokenBuffers(int rows, int maxNewTokens) {
    long bytes = 16L * rows * maxNewTokens;
    long heap = Runtime.getRuntime().maxMemory();
    if (bytes > heap / 2) {
      throw new IllegalArgumentException("max_new_tokens " + maxNewTokens + " (train: --max_completion_length) for "
          + rows + " rows needs " + (bytes >> 20) + " MiB of token buffers, more than half the Java heap ("
          + (heap >> 20) + " MiB, -Xmx); ask for fewer tokens");
    }
  }

  /** {@link #run} after its checks, with the loop's pruned head or null. */
  private static Result decode(Decoding d, KvCache cache, long[] promptMask, int l, int[] rowPrompt,
      SamplingConfig cfg, long[] eosIds, long padId, long step, long firstSampleIndex, boolean keepLogits,
      GenerationOptions opts, PrunedHead pruned) {
    int b = rowPrompt.length;
    int prompts = promptMask.length / l;
    int n = cfg.maxNewTokens();
    checkTokenBuffers(b, n);
    long[][] out = new long[b][n];
    for (long[] row : out) {
      Arrays.fill(row, padId);
    }
    long[][] outMask = new long[b][n];
    boolean[] done = new boolean[b];
    List<float[][]> kept = keepLogits ? new ArrayList<>() : null;
    int[] live = identity(b); // batch position -> completion row
    long[] mask = new long[b * l];
    for (int r = 0; r < b; r++) {
      System.arraycopy(promptMask, rowPrompt[r] * l, mask, r * l, l);
    }
    long[] picked;
    try (PointerScope s = new PointerScope()) {
      Tensor logits = d.prefill(cache);                                                        // (P, V)
      if (!isIdentity(rowPrompt, prompts)) {
        Tensor index = rowIndex(rowPrompt, logits);                                            // (B)
        logits = logits.index_select(0, index);                                                // (B, V)
        cache.selectRows(index);
        d.selectRows(index);
      }
      picked = pick(logits, cfg, step, samples(live, firstSampleIndex), 0, opts, kept, live, b);
    }
    int len = l;
    int compactions = 0;
    for (int t = 0; t < n; t++) {
      int finishedInBatch = 0;
      for (int i = 0; i < live.length; i++) {
        int r = live[i];
        if (done[r]) {
          finishedInBatch++;
          continue;
        }
        out[r][t] = picked[i];
        outMask[r][t] = 1;
        for (long e : eosIds) {
          done[r] |= picked[i] == e;
        }
        finishedInBatch += done[r] ? 1 : 0;
      }
      if (finishedInBatch == live.length || t == n - 1) {
        break;
      }
      try (PointerScope s = new PointerScope()) {
        if (opts.compactFinished() && finishedInBatch > 0 && 4 * finishedInBatch >= live.length) {
          int[] keep = new int[live.length - finishedInBatch]; // batch positions of the unfinished rows
          int[] liveNext = new int[keep.length];
          long[] maskNext = new long[keep.length * len];
          for (int i = 0, j = 0; i < live.length; i++) {
            if (!done[live[i]]) {
              System.arraycopy(mask, i * len, maskNext, j * len, len);
              picked[j] = picked[i];
              liveNext[j] = live[i];
              keep[j++] = i;
            }
          }
          Tensor index = rowIndex(keep, null);                                   // (B') on the CPU
          cache.selectRows(index);
          d.selectRows(index);
          live = liveNext;
          mask = maskNext;
          compactions++;
        }
        int rows = live.length;
        long[] next = new long[rows];
        long[] grown = new long[rows * (len + 1)];
        for (int i = 0; i < rows; i++) {
          next[i] = done[live[i]] ? padId : picked[i];
          System.arraycopy(mask, i * len, grown, i * (len + 1), len);
          grown[i * (len + 1) + len] = 1; // transformers appends 1 for every row, finished or not
        }
        mask = grown;
        len++;
        Tensor tokens = torch.tensor(next).reshape(rows, 1);                                  // (B', 1)
        long[] rowSamples = samples(live, firstSampleIndex);
        Tensor hidden = pruned != null ? d.stepHidden(tokens, mask, cache) : null;           // (B', H)
        if (hidden != null && pruned.matchesFullHead(hidden)) {
          picked = pickPruned(hidden, pruned, cfg, step, rowSamples, t + 1, opts, live);
        } else {
          Tensor logits = hidden != null ? pruned.fullLogits(hidden) : d.step(tokens, mask, cache);  // (B', V)
          picked = pick(logits, cfg, step, rowSamples, t + 1, opts, kept, live, b);
        }
      }
    }
    return new Result(out, outMask, kept, compactions);
  }

  /**
   * Every batch row's next id at completion position {@code t}: by {@link TensorSampler} on the logits' device
   * (only the ids reach Java, and the logits too when kept), or by {@link TokenSampler} on Java copies (the old
   * path); the two pick the same id.
   *
   * @param logits (B', V)
   * @param samples the global sample index of each batch row
   */
  static long[] pick(Tensor logits, SamplingConfig cfg, long step, long[] samples, long t, GenerationOptions opts,
      List<float[][]> kept, int[] live, int b) {
    int rows = (int) logits.size(0);
    if (opts.logitBias() != null) {
      logits = opts.logitBias().apply(logits, live, (int) t);
    }
    float[][] host = kept != null || opts.sampler() == GenerationOptions.Sampler.JAVA ? rows(logits) : null;
    if (kept != null) {
      float[][] all = new float[b][];
      for (int i = 0; i < rows; i++) {
        all[live[i]] = host[i];
      }
      kept.add(all);
    }
    if (opts.sampler() == GenerationOptions.Sampler.JAVA) {
      long[] out = new long[rows];
      for (int i = 0; i < rows; i++) {
        out[i] = TokenSampler.next(host[i], cfg, step, samples[i], t);
      }
      return out;
    }
    Tensor u = cfg.greedy() ? null : TensorSampler.uniforms(cfg, step, samples, t, logits);          // (B')
    return hostIds(TensorSampler.next(logits, cfg, u));
  }

  /**
   * {@link #pick} through the pruned head: approximate logits for every id, the logit bias on those, exact logits
   * for the candidates only, and the tensor sampler over them, which picks the id it would pick from all the logits;
   * every logit when the candidates are not safe or not worth it ({@link PrunedHead#candidates}).
   *
   * @param hidden (B', H) final-norm rows of the batch
   */
  static long[] pickPruned(Tensor hidden, PrunedHead head, SamplingConfig cfg, long step, long[] samples, long t,
      GenerationOptions opts, int[] live) {
    Tensor approx = head.approx(hidden);                                                     // (B', V)
    long[] exactIds = null;
    if (opts.logitBias() != null) {
      approx = opts.logitBias().apply(approx, live, (int) t);
      exactIds = opts.logitBias().overwrittenIds();
    }
    Tensor u = cfg.greedy() ? null : TensorSampler.uniforms(cfg, step, samples, t, hidden);       // (B')
    PrunedHead.Candidates c = head.candidates(hidden, approx, cfg.greedy() ? 1 : cfg.topK(), exactIds);
    if (c != null) {
      return hostIds(TensorSampler.nextAmong(c.logits(), c.ids(), cfg, u));
    }
    Tensor logits = head.fullLogits(hidden);                                                 // (B', V)
    if (exactIds != null && exactIds.length > 0) {
      // the bias overwrote these columns with values of their own: copy them rather than call it twice
      Tensor cols = torch.tensor(exactIds);                                                   // (E)
      logits.index_copy_(1, cols, approx.index_select(1, cols));
    }
    return hostIds(TensorSampler.next(logits, cfg, u));
  }

  /** The B chosen ids, from wherever they were chosen, as Java longs. */
  private static long[] hostIds(Tensor ids) {
    long[] out = new long[(int) ids.numel()];
    ids.to(ScalarType.Long).cpu().contiguous().data_ptr_long().get(out);
    return out;
  }

  private static long[] samples(int[] live, long firstSampleIndex) {
    long[] s = new long[live.length];
    for (int i = 0; i < live.length; i++) {
      s[i] = firstSampleIndex + live[i];
    }
    return s;
  }

  /** (n) int64 of {@code rows} on {@code like}'s device (CPU when null). */
  private static Tensor rowIndex(int[] rows, Tensor like) {
    long[] r = new long[rows.length];
    for (int i = 0; i < rows.length; i++) {
      r[i] = rows[i];
    }
    Tensor t = torch.tensor(r);
    return like == null ? t : t.to(like.device(), ScalarType.Long);
  }

  /** 0, 1, ..., n - 1. */
  public static int[] identity(int n) {
    int[] r = new int[n];
    for (int i = 0; i < n; i++) {
      r[i] = i;
    }
    return r;
  }

  private static boolean isIdentity(int[] rowPrompt, int prompts) {
    if (rowPrompt.length != prompts) {
      return false;
    }
    for (int i = 0; i < rowPrompt.length; i++) {
      if (rowPrompt[i] != i) {
        return false;
      }
    }
    return true;
  }

  /** (B, V) logits as float rows (the float32 cast transformers applies before the processors). */
  static float[][] rows(Tensor logits) {
    Tensor c = Devices.host(logits).to(ScalarType.Float).contiguous();
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
