// The (temporal, height, width) patch grid of one image after a family's preprocessing: Qwen's image_grid_thw row.
package org.vlmr1.module.qwen;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.util.InputFrame;

/**
 * One image's patch grid, as Qwen's processor returns it in {@code image_grid_thw}: {@code h * 14} by {@code w * 14}
 * pixels is the resized input frame the model sees (and in which Qwen2.5-VL writes box coordinates).
 *
 * @param t temporal patches (1 for an image repeated to 2 frames, Qwen's temporal patch size)
 * @param h patch rows (14 px each)
 * @param w patch columns (14 px each)
 */
public record GridThw(long t, long h, long w) {
  public GridThw {
    if (t < 1 || h < 1 || w < 1) {
      throw new IllegalArgumentException("image_grid_thw entries must be >= 1, got [" + t + ", " + h + ", " + w + "]");
    }
  }

  /** Height of the resized input frame in pixels (patch size 14). */
  public long inputHeight() {
    return h * 14;
  }

  /** Width of the resized input frame in pixels (patch size 14). */
  public long inputWidth() {
    return w * 14;
  }

  /** The resized frame the model sees, whose pixels Qwen2.5-VL's absolute box coordinates refer to. */
  public InputFrame inputFrame() {
    return new InputFrame(inputWidth(), inputHeight());
  }

  /** The grids as image_grid_thw, (images, 3) int64. */
  public static Tensor tensor(List<GridThw> grids) {
    long[] thw = new long[grids.size() * 3];
    for (int k = 0; k < grids.size(); k++) {
      thw[3 * k] = grids.get(k).t();
      thw[3 * k + 1] = grids.get(k).h();
      thw[3 * k + 2] = grids.get(k).w();
    }
    return torch.tensor(thw).reshape(grids.size(), 3);                                   // (images, 3)
  }

  /** The rows of an image_grid_thw tensor (images, 3); an empty list for null. */
  public static List<GridThw> of(Tensor imageGridThw) {
    List<GridThw> out = new ArrayList<>();
    if (imageGridThw == null) {
      return out;
    }
    if (imageGridThw.dim() != 2 || imageGridThw.size(1) != 3) {
      throw new IllegalArgumentException("image_grid_thw must be (images, 3), got "
          + TensorChecks.describe(imageGridThw));
    }
    long[] thw = TensorChecks.longs(imageGridThw);
    for (int k = 0; k < thw.length; k += 3) {
      out.add(new GridThw(thw[k], thw[k + 1], thw[k + 2]));
    }
    return out;
  }
}
