// Test-side access to the InternVL image processor's package-private Java reference, for the CUDA goldens
// (org.vlmr1.kernels.CudaGoldens), which live in another package.
package org.vlmr1.module.internvl;

import org.vlmr1.data.RgbImage;

/** The Java reference of InternVL's tile normalisation and its constants. */
public final class InternVlReferenceAccess {
  private InternVlReferenceAccess() {}

  /** (rows * cols, 3, s, s) tiles of an image already resized to (cols * s, rows * s). */
  public static float[] tiles(RgbImage resized, int cols, int rows, int s) {
    return InternVlImageProcessor.normalise(resized, cols, rows, s);
  }

  public static float[] mean() {
    return InternVlImageProcessor.MEAN.clone();
  }

  public static float[] std() {
    return InternVlImageProcessor.STD.clone();
  }
}
