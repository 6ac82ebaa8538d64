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
   * get_rope_index of transformers 4.50 for images: per row, over the unpadded tokens, text runs count up on all
   * three streams; an image's t*(h/2)*(w/2) tokens get (t, row, col) offsets after the text before it; the tail text
   * continues from the last block's maximum + 1. Grids are consumed in batch order.
   */
  public static Positions ropeIndex(long[] ids, long[] mask, int b, int l, List<GridThw> grids, long imageTokenId,
      long visionStartTokenId, int merge) {
    long[] pos = new long[3 * b * l];
    java.util.Arrays.fill(pos, 1L);
    long[] deltas = new long[b];
    int image = 0;
    for (int row = 0; row < b; row++) {
      int n = 0;
      long[] tokens = new long[l];
      int[] where = new int[l];
      for (int k = 0; k < l; k++) {
        if (mask[row * l + k] == 1) {
          where[n] = k;
          tokens[n++] = ids[row * l + k];
        }
      }
      int images = 0;
      for (int k = 0; k + 1 < n; k++) {
        if (tokens[k] == visionStartTokenId && tokens[k + 1] == imageTokenId) {
          images++;
        }
      }
      long[][] p = new long[3][n];
      int filled = 0;
      long lastMax = -1;
      int st = 0;
      for (int im = 0; im < images; im++) {
        int ed = st;
        while (ed < n && tokens[ed] != imageTokenId) {
          ed++;
        }
        long stIdx = lastMax + 1;
        int textLen = ed - st;
        for (int k = 0; k < textLen; k++) {
          for (int s = 0; s < 3; s++) {
            p[s][filled] = stIdx + k;
          }
          filled++;
        }
        if (textLen > 0) {
          lastMax = stIdx + textLen - 1;
        }
        GridThw g = grids.get(image++);
        long lt = g.t();
        long lh = g.h() / merge;
        long lw = g.w() / merge;
        long blockMax = Long.MIN_VALUE;
        for (long t = 0; t < lt; t++) {
          for (long r = 0; r < lh; r++) {
            for (long c = 0; c < lw; c++) {
              p[0][filled] = 0 + textLen + stIdx; // images: time index 0 (second_per_grid_t = 0)
              p[1][filled] = r + textLen + stIdx;
              p[2][filled] = c + textLen + stIdx;
              blockMax = Math.max(blockMax, Math.max(p[0][filled], Math.max(p[1][filled], p[2][filled])));
              filled++;
            }
          }
        }
        lastMax = blockMax;
        st = (int) (ed + lt * lh * lw);
      }
      if (st < n) {
        long stIdx = lastMax + 1;
        for (int k = 0; k < n - st; k++) {
          for (int s = 0; s < 3; s++) {
            p[s][filled] = stIdx + k;
          }
          filled++;
        }
      }
      long max = Long.MIN_VALUE;
      for (int k = 0; k < n; k++) {
        for (int s = 0; s < 3; s++) {
          pos[(s * b + row) * l + where[k]] = p[s][k];
          max = Math.max(max, p[s][k]);
        }
      }
      deltas[row] = (n == 0 ? 0 : max + 1) - l;
    }
    return new Positions(torch.tensor(pos).reshape(3, b, l), torch.tensor(deltas).reshape(b, 1));
  }

  /**
   * get_rope_index for images with libtorch ops on {@code inputIds}' device, batched over rows: the same positions as
   * {@link #ropeIndex(long[], long[], int, int, List, long, long, int)} for well-formed prompts (each run of image
   * tokens is one whole image block, t*(h/merge)*(w/merge) tokens, after a vision_start; images in row-major batch
   * order).
   *
   * <p>Over the unpadded tokens each token adds an increment to the next one's base position: text 1, image tokens 0
   * except the last of each block, which adds max(h/merge, w/merge) (the Java loop's "block maximum + 1"). A token's
   * base is the exclusive cumsum of the increments; text sits at base on all three streams, the i-th token of a block
   * at base + (0, (i / lw) % lh, i % lw). Ids of -1 (generated positions the caller hides from the image scan) are
   * text.
   *
   * @param inputIds (B, L) int64
   * @param attentionMask (B, L) int64, 1 for tokens
   * @param imageGridThw (images, 3) int64 (t, h, w), or null when the batch has no images
   * @param merge the vision tower's spatial_merge_size
   * @throws IllegalArgumentException when the image tokens are not as many as the grids' blocks hold
   */
  public static Positions ropeIndex(Tensor inputIds, Tensor attentionMask, Tensor imageGridThw, long imageTokenId,
      int merge) {
    Device dev = inputIds.device();
    long b = inputIds.size(0);
    long l = inputIds.size(1);
    Tensor valid = attentionMask.to(dev, ScalarType.Long).eq(new Scalar(1));                 // (B, L)
    Tensor image = inputIds.eq(new Scalar(imageTokenId)).logical_and(valid);                 // (B, L)
    Tensor step = valid.to(ScalarType.Long).sub(image.to(ScalarType.Long));                  // (B, L) text 1, else 0
    Tensor hOff = torch.zeros_like(step);                                                    // (B, L)
    Tensor wOff = torch.zeros_like(step);                                                    // (B, L)
    Tensor grid = imageGridThw == null
        ? torch.zeros(new long[] {0, 3}, new TensorOptions(ScalarType.Long).device(new DeviceOptional(dev)))
        : imageGridThw.to(dev, ScalarType.Long);                                             // (I, 3)
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
    Tensor inv = org.vlmr1.model.Rope.invFreq(theta, headDim);                                     // (hd/2)
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
