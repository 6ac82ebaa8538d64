// M-RoPE for Qwen2.5-VL's decoder (ARCHITECTURES.md A7): get_rope_index's three position streams (time, height,
// width) and the sectioned cos/sin.
package org.vlmr1.module.qwen;

import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Position ids and rotary angles of the Qwen2.5-VL decoder. */
public final class QwenRope {
  private QwenRope() {}

  /**
   * @param positionIds (3, B, L) int64, padded positions 1
   * @param ropeDeltas (B, 1) int64: max position + 1 - L, the offset of decode steps
   */
  public record Positions(Tensor positionIds, Tensor ropeDeltas) {}

  /**
   * get_rope_index of transformers 4.50 for images, with libtorch ops on {@code inputIds}' device, batched over rows.
   * Per row, over the unpadded tokens, text counts up on all three streams; an image's t*(h/merge)*(w/merge) tokens
   * get (0, row, col) offsets after the text before it; text after a block continues from the block's maximum + 1.
   * Prompts are well formed (each run of image tokens is one whole image block after a vision_start; images in
   * row-major batch order; QwenRopeTensorTest's Java loop, transformers' rule written out, is the oracle).
   *
   * <p>Over the unpadded tokens each token adds an increment to the next one's base position: text 1, image tokens 0
   * except the last of each block, which adds max(h/merge, w/merge) (the block's maximum + 1). A token's
   * base is the exclusive cumsum of the increments; text sits at base on all three streams, the i-th token of a block
   * at base + (0, (i / lw) % lh, i % lw). Ids of -1 (generated positions the caller hides from the image scan) are
   * text.
   *
   * @param inputIds (B, L) int64
   * @param attentionMask (B, L) int64, 1 for tokens
   * @param imageGridThw (images, 3) int64 (t, h, w), or null: then every token is text, image ids included
   *     (transformers' fallback without grids)
   * @param merge the vision tower's spatial_merge_size
   * @throws IllegalArgumentException when the image tokens are not as many as the grids' blocks hold
   */
  public static Positions ropeIndex(Tensor inputIds, Tensor attentionMask, Tensor imageGridThw, long imageTokenId,
      int merge) {
    Device dev = inputIds.device();
    long b = inputIds.size(0);
    long l = inputIds.size(1);
    Tensor valid = attentionMask.to(dev, ScalarType.Long).eq(new Scalar(1));                 // (B, L)
    // Without image_grid_thw transformers positions every token as text (its rope index falls back to the mask's
    // cumsum), so the image ids count only with grids.
    Tensor image = imageGridThw == null ? torch.zeros_like(valid)
        : inputIds.eq(new Scalar(imageTokenId)).logical_and(valid);                            // (B, L)
    Tensor step = valid.to(ScalarType.Long).sub(image.to(ScalarType.Long));                  // (B, L) text 1, else 0
    Tensor hOff = torch.zeros_like(step);                                                    // (B, L)
    Tensor wOff = torch.zeros_like(step);                                                    // (B, L)
    Tensor grid = imageGridThw == null
        ? torch.zeros(new long[] {0, 3}, new TensorOptions(ScalarType.Long).device(new DeviceOptional(dev)))
        : imageGridThw.to(dev, ScalarType.Long);                                               // (I, 3)
    Tensor lh = grid.select(1, 1).floor_divide(new Scalar(merge));                           // (I)
    Tensor lw = grid.select(1, 2).floor_divide(new Scalar(merge));                           // (I)
    Tensor sizes = grid.select(1, 0).mul(lh).mul(lw);                                        // (I) tokens per image
    // The only host reads: the check needs both counts, and repeat_interleave takes its output size up front (without
    // it, it would read the sizes back itself).
    long tokens = image.sum().item_long();
    long expected = sizes.sum().item_long();
    if (tokens != expected) {
      throw new IllegalArgumentException("image tokens and image_grid_thw do not match: " + tokens
          + " image tokens in the unpadded prompts, " + expected + " in the grids' blocks (t * h/" + merge + " * w/"
          + merge + " summed over " + grid.size(0) + " images)");
    }
    if (tokens > 0) {
      Tensor flat = image.reshape(-1);                                                       // (B*L)
      // Global index of each image token in row-major order; text positions clamp to 0 so that the gathers below
      // stay in range, and their results are dropped by the where()s.
      Tensor g = flat.to(ScalarType.Long).cumsum(0).sub(new Scalar(1)).clamp_min(new Scalar(0)); // (B*L)
      Tensor owner = torch.repeat_interleave(sizes, new LongOptional(tokens));               // (tokens) image of each
      Tensor img = owner.index_select(0, g);                                                 // (B*L)
      Tensor start = sizes.cumsum(0).sub(sizes);                                             // (I) first global index
      Tensor i = g.sub(start.index_select(0, img));                                          // (B*L) index in block
      Tensor lhTok = lh.index_select(0, img);                                                // (B*L)
      Tensor lwTok = lw.index_select(0, img);                                                // (B*L)
      Tensor last = flat.logical_and(i.eq(sizes.index_select(0, img).sub(new Scalar(1))));   // (B*L)
      Tensor jump = torch.where(last, torch.maximum(lhTok, lwTok), new Scalar(0L));          // (B*L)
      step = step.add(jump.reshape(b, l));
      Tensor row = i.floor_divide(lwTok).remainder(lhTok);                                   // (B*L)
      hOff = torch.where(flat, row, new Scalar(0L)).reshape(b, l);
      wOff = torch.where(flat, i.remainder(lwTok), new Scalar(0L)).reshape(b, l);
    }
    Tensor base = step.cumsum(1).sub(step);                                                  // (B, L) exclusive
    Tensor pos = torch.stack(new TensorVector(base, base.add(hOff), base.add(wOff)), 0);     // (3, B, L)
    Tensor pad = valid.logical_not().unsqueeze(0);                                           // (1, B, L)
    // Positions are >= 0, so -1 at padding leaves each row's maximum alone and makes an all-padding row's
    // "maximum + 1" 0, as the Java loop has it.
    Tensor max = pos.masked_fill(pad, new Scalar(-1L)).amax(new long[] {0, 2}, false);      // (B)
    Tensor deltas = max.add(new Scalar(1 - l)).unsqueeze(1);                                 // (B, 1)
    return new Positions(pos.masked_fill(pad, new Scalar(1L)), deltas);
  }

  /**
   * cos and sin (B, 1, L, headDim) of M-RoPE: angles pos_s * inv_freq in float32 per stream, cat(f, f), and the
   * frequency sections [T, H, W] (doubled) taken from their streams.
   */
  public static Tensor[] cosSin(Tensor positionIds, double theta, long headDim, int[] section) {
    Tensor inv = org.vlmr1.kernels.Devices.moved(org.vlmr1.model.Rope.invFreq(theta, headDim),
        positionIds.device());                                                            // (hd/2)
    Tensor freqs = positionIds.to(ScalarType.Float).unsqueeze(-1).mul(inv);              // (3, B, L, hd/2)
    Tensor emb = torch.cat(new TensorVector(freqs, freqs), -1);                          // (3, B, L, hd)
    Tensor cos = emb.cos();
    Tensor sin = emb.sin();
    return new Tensor[] {sections(cos, section), sections(sin, section)};
  }

  private static Tensor sections(Tensor x, int[] section) {
    TensorVector parts = new TensorVector();
    long off = 0;
    for (int i = 0; i < 6; i++) {
      int len = section[i % 3];
      parts.push_back(x.select(0, i % 3).narrow(-1, off, len));
      off += len;
    }
    return torch.cat(parts, -1).unsqueeze(1);                                             // (B, 1, L, hd)
  }
}
