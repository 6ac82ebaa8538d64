// The tiny Qwen2.5-VL checkpoint most trainer tests train (hidden 32, one decoder layer, a one-block vision tower of
// width 32) and its module with small images (min_pixels 3136, max_pixels 12544: a few 14 px patches each).
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.file.Path;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;

final class TinyQwen {
  private TinyQwen() {}

  /** The checkpoint's shape, its random weights drawn from {@code seed}. */
  static QwenTiny.Spec spec(long seed) {
    return new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, seed);
  }

  /** The Qwen module of {@code ckpt} with the small-image processing keywords. */
  static VlmModule module(Path ckpt) throws IOException {
    return VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 12544L));
  }
}
