// Test helper: a float tensor's values as a Java array.
package org.vlmr1.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

final class TensorChecksAccess {
  private TensorChecksAccess() {}

  static float[] floats(Tensor t) {
    Tensor c = t.to(ScalarType.Float).contiguous();
    float[] out = new float[(int) c.numel()];
    new org.bytedeco.javacpp.FloatPointer(c.data_ptr()).get(out);
    return out;
  }
}
