// Tests build a forward pass's multimodal map from named tensors, leaving out the null ones.
package org.vlmr1.model;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** Multimodal maps for tests. */
public final class PassInputs {
  private PassInputs() {}

  /** {@code name1, tensor1, name2, tensor2, ...} as a map in that order, without the null tensors. */
  public static Map<String, Tensor> of(Object... namesAndTensors) {
    Map<String, Tensor> mm = new LinkedHashMap<>();
    for (int i = 0; i < namesAndTensors.length; i += 2) {
      if (namesAndTensors[i + 1] != null) {
        mm.put((String) namesAndTensors[i], (Tensor) namesAndTensors[i + 1]);
      }
    }
    return mm;
  }
}
