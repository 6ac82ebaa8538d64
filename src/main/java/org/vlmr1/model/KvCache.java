// The decoder's key/value cache: per layer, keys after RoPE and values, before the GQA head repeat. With a capacity
// (prompt + max new tokens, known when generation starts) each layer's K and V live in one buffer allocated at the
// first append and written in place, so a decode step copies only its own token (issue 15); growing by torch.cat
// (transformers' DynamicCache) copied the whole cache at every step, quadratic in the completion length. It outlives
// the PointerScope of each step, so it holds its own references.
package org.vlmr1.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Per-layer keys and values (B, kv heads, cached length, head_dim). Close it to free them.
 *
 * <p>A cache built with a capacity preallocates (B, kv, capacity, hd) per layer and per K/V, of the first append's
 * dtype and device, and returns views {@code narrow(2, 0, length)} of the filled part: the same values as the
 * concatenation, so attention is unchanged. An append past the capacity (a caller that underestimated) still works:
 * the buffer is reallocated at twice the needed length and the filled part copied once ({@link #reallocations}
 * counts it). A cache built without a capacity grows by {@code torch.cat} at every append, the old behaviour, kept
 * as the reference the preallocated cache is tested against and for callers that cannot bound the length.
 *
 * <p>Fill it under {@code NoGradGuard} (as generation does): the in-place writes would invalidate autograd's saved
 * views of earlier steps.
 */
public final class KvCache implements AutoCloseable {
  private final Tensor[] k;
  private final Tensor[] v;
  private final long[] filled;
  private final long capacity;
  private int reallocations;

  /** A cache that grows by concatenation at every append (no capacity known). */
  public KvCache(int layers) {
    this(layers, 0);
  }

  /**
   * @param capacity tokens per row to preallocate (prompt length + max new tokens); 0 grows by concatenation
   */
  public KvCache(int layers, long capacity) {
    if (capacity < 0) {
      throw new IllegalArgumentException("KV cache capacity must be >= 0 (0 = grow by concatenation), got "
          + capacity);
    }
    k = new Tensor[layers];
    v = new Tensor[layers];
    filled = new long[layers];
    this.capacity = capacity;
  }

  /** Tokens cached so far (layer 0's count: during a step it already includes the step's tokens). */
  public long length() {
    return filled[0];
  }

  /** The preallocated tokens per row; 0 for a growing cache. */
  public long capacity() {
    return capacity;
  }

  /** How many times an append overran the capacity and a layer's buffers were reallocated (0 when sized right). */
  public int reallocations() {
    return reallocations;
  }

  /** Layer {@code layer}'s key storage: the preallocated buffer (B, kv, capacity, hd), or the grown tensor. */
  Tensor keyStorage(int layer) {
    return k[layer];
  }

  /**
   * Appends a layer's new keys and values (B, kv, n, hd) and returns the whole cached sequence (B, kv, T, hd) for
   * attention: views into the buffers when preallocated (valid until the next append to this layer).
   */
  public Tensor[] append(int layer, Tensor newK, Tensor newV) {
    if (capacity == 0) {
      return appendByCat(layer, newK, newV);
    }
    long n = newK.size(2);
    long len = filled[layer];
    if (k[layer] == null || len + n > k[layer].size(2)) {
      long cap = k[layer] == null ? Math.max(capacity, n) : 2 * (len + n);
      if (k[layer] != null) {
        reallocations++;
      }
      k[layer] = reallocate(k[layer], newK, len, cap);
      v[layer] = reallocate(v[layer], newV, len, cap);
    }
    k[layer].narrow(2, len, n).copy_(newK);
    v[layer].narrow(2, len, n).copy_(newV);
    filled[layer] = len + n;
    return new Tensor[] {k[layer].narrow(2, 0, len + n), v[layer].narrow(2, 0, len + n)};
  }

  /**
   * Keeps rows {@code index} (in that order, repeats allowed) of every layer: a prompt prefilled once becomes the
   * prefix of each of its rows (shared-prompt prefill), and rows that finished leave the batch (compaction). A
   * preallocated cache keeps its capacity; only the filled part is copied. Call it inside a PointerScope.
   *
   * @param index (B') int64 row indices (moved to the cache's device)
   */
  public void selectRows(Tensor index) {
    for (int i = 0; i < k.length; i++) {
      if (k[i] == null) {
        continue;
      }
      k[i] = select(k[i], index, filled[i]);
      v[i] = select(v[i], index, filled[i]);
    }
  }

  private Tensor select(Tensor old, Tensor rows, long len) {
    Tensor index = rows.to(old.device(), ScalarType.Long);                                  // (B')
    Tensor out;
    if (capacity == 0) {
      out = old.index_select(0, index);                                                  // (B', kv, T, hd)
    } else {
      out = old.new_empty(index.size(0), old.size(1), old.size(2), old.size(3));           // (B', kv, cap, hd)
      out.narrow(2, 0, len).copy_(old.narrow(2, 0, len).index_select(0, index));
    }
    out.retainReference(); // the cache outlives the caller's PointerScope
    old.releaseReference();
    return out;
  }

  /** A (B, kv, cap, hd) buffer like {@code like}, holding the first {@code len} tokens of {@code old} (released). */
  private static Tensor reallocate(Tensor old, Tensor like, long len, long cap) {
    Tensor buf = like.new_empty(like.size(0), like.size(1), cap, like.size(3)); // like's dtype and device
    buf.retainReference(); // the cache outlives the step's PointerScope
    if (old != null) {
      buf.narrow(2, 0, len).copy_(old.narrow(2, 0, len));
      old.releaseReference();
    }
    return buf;
  }

  private Tensor[] appendByCat(int layer, Tensor newK, Tensor newV) {
    // Own handles, never the caller's objects: releasing a caller's tensor at close (or the same object twice when
    // K and V are one tensor) would free it under the caller.
    Tensor kk = newK.alias();
    Tensor vv = newV.alias();
    if (k[layer] != null) {
      kk = torch.cat(new TensorVector(k[layer], newK), 2);
      vv = torch.cat(new TensorVector(v[layer], newV), 2);
      k[layer].releaseReference();
      v[layer].releaseReference();
    }
    kk.retainReference(); // the cache outlives the step's PointerScope
    vv.retainReference();
    k[layer] = kk;
    v[layer] = vv;
    filled[layer] = kk.size(2);
    return new Tensor[] {kk, vv};
  }

  @Override
  public void close() {
    for (int i = 0; i < k.length; i++) {
      if (k[i] != null) {
        k[i].releaseReference();
        v[i].releaseReference();
        k[i] = null;
        v[i] = null;
      }
      filled[i] = 0;
    }
  }
}
