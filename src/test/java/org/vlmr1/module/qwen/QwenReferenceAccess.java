// Test-side access to the Qwen image processor's package-private Java reference, for the CUDA goldens
// (org.vlmr1.kernels.CudaGoldens), which live in another package.
package org.vlmr1.module.qwen;

import org.vlmr1.data.RgbImage;

/** The Java reference of Qwen's patchify and its normalisation constants. */
public final class QwenReferenceAccess {
  private QwenReferenceAccess() {}

  /** (h/14 * w/14, 1176) row-major patches of an image whose sides are multiples of 28. */
  public static float[] patches(RgbImage resized) {
    return QwenImageProcessor.referencePatches(resized);
  }

  public static float[] mean() {
    return QwenImageProcessor.MEAN.clone();
  }

  public static float[] std() {
    return QwenImageProcessor.STD.clone();
  }
}
