// InternViT and InternVL's projector (ARCHITECTURES.md B5-B6, OpenGVLab's modeling_intern_vit.py and
// InternVLChatModel.extract_feature): patch embedding, class token, position embedding (bicubically resized when the
// tile grid differs from the stored one), pre-norm blocks with layer scale, the select_layer output without the class
// token, pixel shuffle, and mlp1.
package org.vlmr1.module.internvl;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.model.CheckpointedPass;
import org.vlmr1.model.Layers;
import org.vlmr1.model.Weights;

/** Vision tower + projector over a stack of tiles. Build outside a PointerScope; run inside one. */
public final class InternVision {
  private static final String P = "vision_model.";
  private static final double MLP1_LN_EPS = 1e-5; // nn.LayerNorm's default in mlp1, unlike the tower's 1e-6
  private final InternVlConfig cfg;
  private final InternVlConfig.Vision v;
  private final Weights w;

  public InternVision(InternVlConfig cfg, Weights w) {
    this.cfg = cfg;
    this.v = cfg.vision();
    this.w = w;
    long c = v.hiddenSize();
    int g = v.gridSize();
    w.get(P + "embeddings.class_embedding", 1, 1, c);
    w.get(P + "embeddings.patch_embedding.weight", c, 3, v.patchSize(), v.patchSize());
    w.get(P + "embeddings.patch_embedding.bias", c);
    w.get(P + "embeddings.position_embedding", 1, 1 + (long) g * g, c);
    for (int i = 0; i < v.numLayers(); i++) {
      String p = P + "encoder.layers." + i + ".";
      w.get(p + "attn.qkv.weight", 3 * c, c);
      if (v.qkvBias()) {
        w.get(p + "attn.qkv.bias", 3 * c);
      }
      w.get(p + "attn.proj.weight", c, c);
      w.get(p + "attn.proj.bias", c);
      w.get(p + "mlp.fc1.weight", v.intermediateSize(), c);
      w.get(p + "mlp.fc1.bias", v.intermediateSize());
      w.get(p + "mlp.fc2.weight", c, v.intermediateSize());
      w.get(p + "mlp.fc2.bias", c);
      w.get(p + "ls1", c);
      w.get(p + "ls2", c);
      for (String n : new String[] {"norm1", "norm2"}) {
        w.get(p + n + ".weight", c);
        if (v.normType() == InternVlConfig.NormType.LAYER_NORM) {
          w.get(p + n + ".bias", c);
        }
      }
      if (v.qkNormalization()) {
        w.get(p + "attn.q_norm.weight", c);
        w.get(p + "attn.k_norm.weight", c);
      }
    }
    long merged = c * cfg.shuffleFactor() * cfg.shuffleFactor();
    long h = cfg.llm().hiddenSize();
    w.get("mlp1.0.weight", merged);
    w.get("mlp1.0.bias", merged);
    w.get("mlp1.1.weight", h, merged);
    w.get("mlp1.1.bias", h);
    w.get("mlp1.3.weight", h, h);
    w.get("mlp1.3.bias", h);
  }

  /**
   * The tower's hidden state at select_layer (transformers' hidden_states tuple: index 0 the embeddings, i the output
   * of layer i), class token first.
   *
   * @param pixelValues (N, 3, S, S) tiles
   * @return (N, 1 + (S/patch)^2, C)
   */
  public Tensor tower(Tensor pixelValues) {
    int index = selectIndex();
    Tensor x = embeddings(pixelValues);
    for (int i = 0; i < index; i++) {
      x = block(i, x);
    }
    return x;
  }

  /**
   * {@link #extractFeature} as a chain of segments for gradient checkpointing: the embeddings (from nothing to
   * (N, 1 + patches, C)), each block up to select_layer, and {@link #project} (to (N, num_image_token, H)).
   */
  public List<CheckpointedPass.Segment> segments(Tensor pixelValues) {
    int index = selectIndex();
    List<CheckpointedPass.Segment> out = new ArrayList<>();
    out.add(none -> embeddings(pixelValues));                                             // (N, 1 + patches, C)
    for (int i = 0; i < index; i++) {
      int block = i;
      out.add(x -> block(block, x));                                                       // (N, 1 + patches, C)
    }
    out.add(this::project);                                                                // (N, T, H)
    return out;
  }

  /** select_layer as an index into the tower's hidden states (0 the embeddings, i the output of layer i). */
  private int selectIndex() {
    int layers = v.numLayers();
    int index = cfg.selectLayer() < 0 ? layers + 1 + cfg.selectLayer() : cfg.selectLayer();
    if (index < 0 || index > layers) {
      throw new IllegalArgumentException("select_layer " + cfg.selectLayer() + " is outside the tower's "
          + (layers + 1) + " hidden states");
    }
    return index;
  }

  /**
   * extract_feature: tower output without the class token, pixel shuffle, mlp1.
   *
   * @param pixelValues (N, 3, S, S)
   * @return (N, num_image_token, llm hidden)
   */
  public Tensor extractFeature(Tensor pixelValues) {
    return project(tower(pixelValues));
  }

  /**
   * The trainable half of extract_feature: drop the class token, pixel shuffle, mlp1.
   *
   * @param x (N, 1 + patches, C) tower output at select_layer
   * @return (N, num_image_token, llm hidden)
   */
  public Tensor project(Tensor x) {
    long n = x.size(0);
    long patches = x.size(1) - 1;
    long side = Math.round(Math.sqrt(patches));
    Tensor grid = x.narrow(1, 1, patches).reshape(n, side, side, -1);                     // (N, side, side, C)
    Tensor shuffled = pixelShuffle(grid);                                                 // (N, s/f, s/f, C*f^2)
    Tensor tokens = shuffled.reshape(n, -1, shuffled.size(-1));                           // (N, T, C*f^2)
    Tensor h = torch.layer_norm(tokens, new long[] {tokens.size(-1)}, new TensorOptional(w.get("mlp1.0.weight")),
        new TensorOptional(w.get("mlp1.0.bias")), MLP1_LN_EPS, false);
    h = w.linear(h, "mlp1.1", w.get("mlp1.1.weight"), w.get("mlp1.1.bias")); // mlp1 is no vision module: LoRA
    h = torch.gelu(h);
    return w.linear(h, "mlp1.3", w.get("mlp1.3.weight"), w.get("mlp1.3.bias"));            // (N, T, H)
  }

  /**
   * InternVLChatModel.pixel_shuffle: view (n, w, h*r, c/r), swap the two spatial axes, view (n, h*r, w*r, c/r^2),
   * and (ps_version v2) swap back, so output token (a, b) holds the 2x2 block around (2a, 2b) row-major.
   */
  Tensor pixelShuffle(Tensor x) {
    long n = x.size(0);
    long wd = x.size(1);
    long ht = x.size(2);
    long c = x.size(3);
    int f = cfg.shuffleFactor();
    Tensor y = x.reshape(n, wd, ht / f, c * f).permute(0, 2, 1, 3).contiguous();
    y = y.reshape(n, ht / f, wd / f, c * f * f);
    return cfg.psVersion().equals("v1") ? y : y.permute(0, 2, 1, 3).contiguous();
  }

  /** Patch embedding (a stride-p convolution, done as a matmul over p x p patches) + class token + positions. */
  private Tensor embeddings(Tensor pixelValues) {
    int p = v.patchSize();
    // the rank first: size(2) of Qwen's 2-D (patches, 1176) pixel_values was libtorch's "Dimension out of range"
    if (pixelValues.dim() != 4 || pixelValues.size(1) != 3 || pixelValues.size(3) != pixelValues.size(2)
        || pixelValues.size(2) % p != 0) {
      throw new IllegalArgumentException("pixel_values must be (tiles, 3, S, S) with S a multiple of " + p
          + ", got " + java.util.Arrays.toString(pixelValues.sizes().vec().get()));
    }
    long n = pixelValues.size(0);
    long s = pixelValues.size(2);
    long g = s / p;
    long c = v.hiddenSize();
    Tensor weight = w.get(P + "embeddings.patch_embedding.weight");
    Tensor px = pixelValues.to(weight.scalar_type()).reshape(n, 3, g, p, g, p).permute(0, 2, 4, 1, 3, 5)
        .reshape(n, g * g, 3L * p * p);                                                    // (N, g*g, 3*p*p)
    Tensor patches = Layers.linear(px, weight.reshape(c, 3L * p * p),
        w.get(P + "embeddings.patch_embedding.bias"));                                     // (N, g*g, C)
    Tensor cls = w.get(P + "embeddings.class_embedding").expand(n, 1, c);
    Tensor x = torch.cat(new TensorVector(cls, patches), 1);                              // (N, 1+g*g, C)
    Tensor pos = w.get(P + "embeddings.position_embedding");                              // (1, 1+G*G, C)
    Tensor posPatches = pos.narrow(1, 1, pos.size(1) - 1);
    if (g != v.gridSize()) {
      // _get_pos_embed: bicubic resize of the stored grid to this tile's grid (float32, align_corners False).
      int gs = v.gridSize();
      Tensor img = posPatches.to(ScalarType.Float).reshape(1, gs, gs, c).permute(0, 3, 1, 2);
      posPatches = torch.upsample_bicubic2d(img, new long[] {g, g}, false).reshape(1, c, g * g).permute(0, 2, 1)
          .to(pos.scalar_type());
    }
    return x.add(torch.cat(new TensorVector(pos.narrow(1, 0, 1), posPatches), 1));
  }

  /** x + ls1 * attn(norm1(x)); x + ls2 * mlp(norm2(x)). */
  private Tensor block(int i, Tensor x) {
    String p = P + "encoder.layers." + i + ".";
    Tensor a = attention(p, norm(x, p + "norm1"));
    x = x.add(a.mul(w.get(p + "ls1")));
    Tensor h = norm(x, p + "norm2");
    h = Layers.linear(h, w.get(p + "mlp.fc1.weight"), w.get(p + "mlp.fc1.bias"));
    h = torch.gelu(h);
    h = Layers.linear(h, w.get(p + "mlp.fc2.weight"), w.get(p + "mlp.fc2.bias"));
    return x.add(h.mul(w.get(p + "ls2")));
  }

  /** Bidirectional multi-head attention over the tile's tokens (class token included). */
  private Tensor attention(String p, Tensor x) {
    long n = x.size(0);
    long l = x.size(1);
    long c = v.hiddenSize();
    int heads = v.numHeads();
    long hd = v.headDim();
    Tensor qkv = Layers.linear(x, w.get(p + "attn.qkv.weight"), bias(p + "attn.qkv.bias"))
        .reshape(n, l, 3, heads, hd).permute(2, 0, 3, 1, 4);                              // (3, N, heads, L, hd)
    Tensor q = qkv.select(0, 0);
    Tensor k = qkv.select(0, 1);
    Tensor vv = qkv.select(0, 2);
    if (v.qkNormalization()) {
      // RMSNorm over all heads together: (N, heads, L, hd) -> (N, L, C) -> norm -> back.
      q = Layers.rmsNorm(q.transpose(1, 2).reshape(n, l, c), w.get(p + "attn.q_norm.weight"), v.layerNormEps())
          .reshape(n, l, heads, hd).transpose(1, 2);
      k = Layers.rmsNorm(k.transpose(1, 2).reshape(n, l, c), w.get(p + "attn.k_norm.weight"), v.layerNormEps())
          .reshape(n, l, heads, hd).transpose(1, 2);
    }
    Tensor o = torch.scaled_dot_product_attention(q, k, vv, new TensorOptional(), 0.0, false, new DoubleOptional(),
        false);                                                                            // (N, heads, L, hd)
    o = o.transpose(1, 2).reshape(n, l, c);
    return Layers.linear(o, w.get(p + "attn.proj.weight"), w.get(p + "attn.proj.bias"));
  }

  private Tensor norm(Tensor x, String key) {
    if (v.normType() == InternVlConfig.NormType.RMS_NORM) {
      return Layers.rmsNorm(x, w.get(key + ".weight"), v.layerNormEps());
    }
    return torch.layer_norm(x, new long[] {x.size(-1)}, new TensorOptional(w.get(key + ".weight")),
        new TensorOptional(w.get(key + ".bias")), v.layerNormEps(), false);
  }

  private Tensor bias(String key) {
    return v.qkvBias() && w.has(key) ? w.get(key) : null;
  }
}
