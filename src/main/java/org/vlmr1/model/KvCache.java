// The decoder's key/value cache (transformers' DynamicCache): per layer, keys after RoPE and values, before the GQA
// head repeat, grown along the sequence. It outlives the PointerScope of each step, so it holds its own references.
package org.vlmr1.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/** Per-layer keys and values (B, kv heads, cached length, head_dim). Close it to free them. */
public final class KvCache implements AutoCloseable {
  private final Tensor[] k;
  private final Tensor[] v;

  public KvCache(int layers) {
    k = new Tensor[layers];
    v = new Tensor[layers];
  }

  /** Tokens cached so far. */
  public long length() {
    return k[0] == null ? 0 : k[0].size(2);
  }

  /**
   * Appends a layer's new keys and values and returns the whole cached sequence (B, kv, T, hd) for attention.
   */
  Tensor[] append(int layer, Tensor newK, Tensor newV) {
    Tensor kk = newK;
    Tensor vv = newV;
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
    }
  }
}
