// M-RoPE for Qwen2.5-VL's decoder (ARCHITECTURES.md A7): get_rope_index's three position streams (time, height,
// width) and the sectioned cos/sin.
package org.vlmr1.module.qwen;

import java.util.List;
import org.bytedeco.pytorch.Tensor;
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
