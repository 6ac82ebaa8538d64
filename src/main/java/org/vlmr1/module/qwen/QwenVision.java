// The Qwen2.5-VL vision tower (Qwen2_5_VisionTransformerPretrainedModel, ARCHITECTURES.md A5): patch embedding as a
// matmul, 2-D rotary, window attention with the window-index permutation and full-attention blocks, RMSNorm,
// SwiGLU, and the 2x2 patch merger; output back in processor order.
package org.vlmr1.module.qwen;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.model.CheckpointedPass;
import org.vlmr1.kernels.Devices;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.model.Layers;
import org.vlmr1.model.Weights;

/** Vision tower forward over all images of a batch at once. */
public final class QwenVision {
  private static final double EPS = 1e-6;
  private final QwenConfig.Vision cfg;
  private final Weights w;

  public QwenVision(QwenConfig.Vision cfg, Weights w) {
    this.cfg = cfg;
    this.w = w;
    patchWeight(); // checks the weight's shape at load time
    declareWeights();
  }

  /**
   * Shape-checks every tower weight at load time, which also declares them expected, so that
   * {@link Weights#rejectUnexpected} can refuse what is left (forward fetches them unchecked, after dtype casts).
   */
  private void declareWeights() {
    long c = cfg.hiddenSize();
    long i = cfg.intermediateSize();
    for (int l = 0; l < cfg.depth(); l++) {
      String p = "visual.blocks." + l + ".";
      declareNorm(p + "norm1", c);
      declareNorm(p + "norm2", c);
      w.get(p + "attn.qkv.weight", 3 * c, c);
      w.get(p + "attn.qkv.bias", 3 * c);
      w.get(p + "attn.proj.weight", c, c);
      w.get(p + "attn.proj.bias", c);
      if (cfg.qwen2()) {
        w.get(p + "mlp.fc1.weight", i, c);
        w.get(p + "mlp.fc1.bias", i);
        w.get(p + "mlp.fc2.weight", c, i);
        w.get(p + "mlp.fc2.bias", c);
      } else {
        w.get(p + "mlp.gate_proj.weight", i, c);
        w.get(p + "mlp.gate_proj.bias", i);
        w.get(p + "mlp.up_proj.weight", i, c);
        w.get(p + "mlp.up_proj.bias", i);
        w.get(p + "mlp.down_proj.weight", c, i);
        w.get(p + "mlp.down_proj.bias", c);
      }
    }
    long merged = c * cfg.spatialMergeSize() * cfg.spatialMergeSize();
    declareNorm("visual.merger.ln_q", c);
    w.get("visual.merger.mlp.0.weight", merged, merged);
    w.get("visual.merger.mlp.0.bias", merged);
    w.get("visual.merger.mlp.2.weight", cfg.outHiddenSize(), merged);
    w.get("visual.merger.mlp.2.bias", cfg.outHiddenSize());
  }

  /** Qwen2.5-VL's RMSNorm has a weight; Qwen2-VL's LayerNorm a weight and a bias. */
  private void declareNorm(String prefix, long c) {
    w.get(prefix + ".weight", c);
    if (cfg.qwen2()) {
      w.get(prefix + ".bias", c);
    }
  }

  /** The Conv3d patch embedding as a (hidden, 3*2*14*14) matrix: a view, fetched per call so dtype casts apply. */
  private Tensor patchWeight() {
    long in = 3L * cfg.temporalPatchSize() * cfg.patchSize() * cfg.patchSize();
    return w.get("visual.patch_embed.proj.weight", cfg.hiddenSize(), 3, cfg.temporalPatchSize(), cfg.patchSize(),
        cfg.patchSize()).reshape(cfg.hiddenSize(), in);
  }

  /** The merged-token window permutation and the window boundaries in patch rows (get_window_index). */
  public record WindowIndex(long[] index, long[] cuWindowSeqlens) {}

  public WindowIndex windowIndex(List<GridThw> grids) {
    int merge = cfg.spatialMergeSize();
    int vws = cfg.windowSize() / merge / cfg.patchSize();
    List<Long> index = new ArrayList<>();
    List<Long> cu = new ArrayList<>();
    cu.add(0L);
    long idOffset = 0;
    for (GridThw g : grids) {
      int lh = (int) (g.h() / merge);
      int lw = (int) (g.w() / merge);
      int padH = vws - lh % vws;
      int padW = vws - lw % vws;
      int nwh = (lh + padH) / vws;
      int nww = (lw + padW) / vws;
      for (int t = 0; t < g.t(); t++) {
        for (int wy = 0; wy < nwh; wy++) {
          for (int wx = 0; wx < nww; wx++) {
            long count = 0;
            for (int r = wy * vws; r < (wy + 1) * vws; r++) {
              for (int c = wx * vws; c < (wx + 1) * vws; c++) {
                if (r < lh && c < lw) {
                  index.add(idOffset + (long) t * lh * lw + (long) r * lw + c);
                  count++;
                }
              }
            }
            cu.add(cu.get(cu.size() - 1) + count * merge * merge);
          }
        }
      }
      idOffset += g.t() * lh * lw;
    }
    List<Long> unique = new ArrayList<>(); // torch.unique_consecutive
    for (long v : cu) {
      if (unique.isEmpty() || unique.get(unique.size() - 1) != v) {
        unique.add(v);
      }
    }
    return new WindowIndex(index.stream().mapToLong(Long::longValue).toArray(),
        unique.stream().mapToLong(Long::longValue).toArray());
  }

  /** Qwen2-VL has no windows: the identity permutation (and full attention in every block). */
  private static WindowIndex identity(long n) {
    long[] idx = new long[(int) n];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = i;
    }
    return new WindowIndex(idx, new long[] {0, n * 4});
  }

  /** rot_pos_emb: (S, headDim/2) float32 angles [row * inv_freq, col * inv_freq] in processor row order. */
  public Tensor rotPosEmb(List<GridThw> grids) {
    int merge = cfg.spatialMergeSize();
    long total = 0;
    long maxGrid = 0;
    for (GridThw g : grids) {
      total += g.t() * g.h() * g.w();
      maxGrid = Math.max(maxGrid, Math.max(g.h(), g.w()));
    }
    long[] pos = new long[(int) total * 2];
    int o = 0;
    for (GridThw g : grids) {
      for (int t = 0; t < g.t(); t++) {
        for (long bh = 0; bh < g.h() / merge; bh++) {
          for (long bw = 0; bw < g.w() / merge; bw++) {
            for (int mh = 0; mh < merge; mh++) {
              for (int mw = 0; mw < merge; mw++) {
                pos[o++] = bh * merge + mh;
                pos[o++] = bw * merge + mw;
              }
            }
          }
        }
      }
    }
    long dim = cfg.headDim() / 2;
    Tensor invFreq = org.vlmr1.model.Rope.invFreq(10000.0, dim);                                           // (dim/2)
    Tensor seq = torch.arange(new Scalar(maxGrid)).to(ScalarType.Float);               // (maxGrid)
    Tensor full = torch.outer(seq, invFreq);                                           // (maxGrid, dim/2)
    Tensor idx = torch.tensor(pos);                                                    // (S*2)
    return torch.index_select(full, 0, idx).reshape(total, dim);                       // (S, dim)
  }

  /** (S, 1176) rows, their grids -> (S/4, out_hidden) merged embeddings in processor order. */
  public Tensor forward(Tensor pixelValues, List<GridThw> grids) {
    Tensor x = null;
    // One scope per block, as Qwen2Decoder.run does: 32 blocks' temporaries at once were gigabytes at 448x448.
    org.bytedeco.javacpp.PointerScope outer = org.bytedeco.javacpp.PointerScope.getInnerScope();
    for (CheckpointedPass.Segment seg : segments(pixelValues, grids)) {
      if (outer == null) {
        x = seg.apply(x);
      } else {
        try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope()) {
          x = seg.apply(x);                                                                   // (S, hidden)
          outer.attach(x);
        }
      }
    }
    return x;
  }

  /**
   * {@link #forward} as a chain of segments for gradient checkpointing: the patch embedding (from nothing to
   * (S, hidden) in window order), each block ((S, hidden) to (S, hidden)), and the merger (to (S/4, out_hidden) in
   * processor order). The rotary tables and window bounds, which hold no parameters, are computed here once.
   */
  public List<CheckpointedPass.Segment> segments(Tensor pixelValues, List<GridThw> grids) {
    checkPixels(pixelValues, grids);
    long s = pixelValues.size(0);
    long hidden = cfg.hiddenSize();
    int unit = cfg.spatialMergeSize() * cfg.spatialMergeSize();
    WindowIndex wi = cfg.qwen2() ? identity(s / unit) : windowIndex(grids);
    // the window order and rotary table are built on the host from the grids, then copied to the pixels' device once
    Tensor widx = Devices.moved(torch.tensor(wi.index()), pixelValues.device());        // (S/4)
    Tensor rot = Devices.moved(rotPosEmb(grids), pixelValues.device());
    rot = torch.index_select(rot.reshape(s / unit, unit, -1), 0, widx).reshape(s, -1);
    Tensor emb = torch.cat(new TensorVector(rot, rot), -1);                            // (S, headDim)
    Tensor cos = emb.cos().unsqueeze(1);                                                // (S, 1, headDim)
    Tensor sin = emb.sin().unsqueeze(1);
    List<Long> full = new ArrayList<>(); // one full-attention segment per frame of each image
    full.add(0L);
    for (GridThw g : grids) {
      for (int t = 0; t < g.t(); t++) {
        full.add(full.get(full.size() - 1) + g.h() * g.w());
      }
    }
    long[] cuFull = full.stream().mapToLong(Long::longValue).toArray();
    List<CheckpointedPass.Segment> segments = new ArrayList<>();
    segments.add(none -> {
      Tensor pw = patchWeight();
      Tensor x = torch.linear(pixelValues.to(pw.scalar_type()), pw);                  // (S, hidden)
      return torch.index_select(x.reshape(s / unit, unit, hidden), 0, widx).reshape(s, hidden);
    });
    for (int l = 0; l < cfg.depth(); l++) {
      boolean isFull = false;
      for (int f : cfg.fullattBlockIndexes()) {
        isFull |= f == l;
      }
      int block = l;
      long[] cu = isFull ? cuFull : wi.cuWindowSeqlens();
      segments.add(x -> block(block, x, cos, sin, cu));                                // (S, hidden)
    }
    segments.add(x -> merge(x, wi));                                                   // (S/4, out_hidden)
    return segments;
  }

  /**
   * Refuses pixel_values that its grids do not describe before anything is sized from the grids: a hostile or
   * mismatched image_grid_thw ([1, 2^20, 2^20] for 24 rows) would otherwise size the rotary tables and windows from
   * the grids (gigabytes, minutes) or index past the rows.
   */
  void checkPixels(Tensor pixelValues, List<GridThw> grids) {
    long in = 3L * cfg.temporalPatchSize() * cfg.patchSize() * cfg.patchSize();
    if (pixelValues.dim() != 2 || pixelValues.size(1) != in) {
      throw new IllegalArgumentException("pixel_values must be (patches, " + in + "), got "
          + TensorChecks.describe(pixelValues));
    }
    int merge = cfg.spatialMergeSize();
    long rows = 0;
    for (GridThw g : grids) {
      if (g.h() % merge != 0 || g.w() % merge != 0) {
        throw new IllegalArgumentException("image_grid_thw [" + g.t() + ", " + g.h() + ", " + g.w()
            + "]: h and w must be multiples of spatial_merge_size " + merge);
      }
      try {
        rows = Math.addExact(rows, Math.multiplyExact(g.t(), Math.multiplyExact(g.h(), g.w())));
      } catch (ArithmeticException e) {
        rows = Long.MAX_VALUE;
        break;
      }
    }
    if (rows != pixelValues.size(0)) {
      throw new IllegalArgumentException("pixel_values has " + pixelValues.size(0) + " patch rows, but image_grid_thw "
          + "describes " + (rows == Long.MAX_VALUE ? "more than 2^63" : rows) + " (t * h * w summed over "
          + grids.size() + " images)");
    }
  }

  /** Block {@code l}; exposed through {@link #forward} only. */
  private Tensor block(int l, Tensor x, Tensor cos, Tensor sin, long[] cu) {
    String p = "visual.blocks." + l + ".";
    long s = x.size(0);
    int heads = cfg.numHeads();
    long hd = cfg.headDim();
    Tensor h = norm(x, p + "norm1");
    Tensor qkv = Layers.linear(h, w.get(p + "attn.qkv.weight"), w.get(p + "attn.qkv.bias")).reshape(s, 3, heads, hd);
    Tensor q = qkv.select(1, 0);
    Tensor k = qkv.select(1, 1);
    Tensor v = qkv.select(1, 2);
    ScalarType dt = q.scalar_type().intern();
    Tensor qf = q.to(ScalarType.Float);
    Tensor kf = k.to(ScalarType.Float);
    q = qf.mul(cos).add(Layers.rotateHalf(qf).mul(sin)).to(dt);                          // (S, heads, hd)
    k = kf.mul(cos).add(Layers.rotateHalf(kf).mul(sin)).to(dt);
    TensorVector parts = new TensorVector();
    for (int i = 1; i < cu.length; i++) {
      long a = cu[i - 1];
      long n = cu[i] - a;
      Tensor qs = q.narrow(0, a, n).transpose(0, 1);                                        // (heads, n, hd)
      Tensor ks = k.narrow(0, a, n).transpose(0, 1);
      Tensor vs = v.narrow(0, a, n).transpose(0, 1);
      parts.push_back(torch.scaled_dot_product_attention(qs, ks, vs).transpose(0, 1).reshape(n, heads * hd));
    }
    Tensor attn = torch.cat(parts, 0);                                                      // (S, hidden)
    x = x.add(Layers.linear(attn, w.get(p + "attn.proj.weight"), w.get(p + "attn.proj.bias")));
    h = norm(x, p + "norm2");
    if (cfg.qwen2()) { // fc1 -> QuickGELU -> fc2
      Tensor a = Layers.linear(h, w.get(p + "mlp.fc1.weight"), w.get(p + "mlp.fc1.bias"));
      a = a.mul(torch.sigmoid(a.mul(new Scalar(1.702))));
      return x.add(Layers.linear(a, w.get(p + "mlp.fc2.weight"), w.get(p + "mlp.fc2.bias")));
    }
    return x.add(Layers.swiGlu(h, w.get(p + "mlp.gate_proj.weight"), w.get(p + "mlp.gate_proj.bias"),
        w.get(p + "mlp.up_proj.weight"), w.get(p + "mlp.up_proj.bias"), w.get(p + "mlp.down_proj.weight"),
        w.get(p + "mlp.down_proj.bias")));
  }

  /** Qwen2.5-VL: RMSNorm; Qwen2-VL: LayerNorm with bias (both eps 1e-6). */
  private Tensor norm(Tensor x, String prefix) {
    if (cfg.qwen2()) {
      return torch.layer_norm(x, new long[] {x.size(-1)}, new org.bytedeco.pytorch.TensorOptional(
          w.get(prefix + ".weight")), new org.bytedeco.pytorch.TensorOptional(w.get(prefix + ".bias")), EPS, false);
    }
    return Layers.rmsNorm(x, w.get(prefix + ".weight"), EPS);
  }

  private Tensor merge(Tensor x, WindowIndex wi) {
    int unit = cfg.spatialMergeSize() * cfg.spatialMergeSize();
    Tensor y = norm(x, "visual.merger.ln_q").reshape(-1, cfg.hiddenSize() * unit);
    y = Layers.linear(y, w.get("visual.merger.mlp.0.weight"), w.get("visual.merger.mlp.0.bias"));
    y = torch.gelu(y);
    y = Layers.linear(y, w.get("visual.merger.mlp.2.weight"), w.get("visual.merger.mlp.2.bias"));
    Tensor reverse = torch.argsort(Devices.moved(torch.tensor(wi.index()), y.device()));
    return torch.index_select(y, 0, reverse);                                               // (S/4, out_hidden)
  }
}
