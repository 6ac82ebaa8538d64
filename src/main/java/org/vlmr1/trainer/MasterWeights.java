// Mixed precision for --bf16: the model computes in bfloat16 while AdamW updates float32 master copies of the
// parameters this rank steps, so updates smaller than bf16's resolution accumulate instead of vanishing (what
// DeepSpeed's bf16 mode does for VLM-R1). The masters travel in the checkpoint, so a resumed run continues exactly.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.model.SafeTensorsWriter;
import org.vlmr1.model.Weights;

/** float32 masters of a list of (bf16) model parameters. Build outside a PointerScope; close to free them. */
final class MasterWeights implements AutoCloseable {
  private final List<Tensor> params;
  private final List<String> names;
  private final List<Tensor> masters = new ArrayList<>();

  MasterWeights(List<Tensor> params, List<String> names) {
    this.params = List.copyOf(params);
    this.names = List.copyOf(names);
    for (Tensor p : params) {
      Tensor m = p.detach().to(ScalarType.Float).clone();
      m.retainReference(); // lives as long as the trainer
      masters.add(m);
    }
  }

  /** The masters (what the optimizer holds). */
  List<Tensor> tensors() {
    return List.copyOf(masters);
  }

  /** The masters' gradients are the (reduced, clipped) model gradients in float32. */
  void fromGradients() {
    try (PointerScope s = new PointerScope()) {
      for (int i = 0; i < masters.size(); i++) {
        Tensor g = params.get(i).grad();
        if (g.defined()) {
          masters.get(i).mutable_grad().put(g.to(ScalarType.Float));
        }
      }
    }
  }

  /** The model's parameters are the updated masters rounded to their dtype. */
  void toModel() {
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int i = 0; i < masters.size(); i++) {
        params.get(i).detach().copy_(masters.get(i));
      }
    }
  }

  void save(Path file) throws IOException {
    try (PointerScope s = new PointerScope()) {
      Map<String, Tensor> m = new LinkedHashMap<>();
      for (int i = 0; i < masters.size(); i++) {
        m.put(names.get(i), masters.get(i).detach());
      }
      SafeTensorsWriter.write(file, m);
    }
  }

  void load(Path file) throws IOException {
    SafeTensorsFile st = SafeTensorsFile.open(file);
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int i = 0; i < masters.size(); i++) {
        masters.get(i).copy_(Weights.tensor(st, names.get(i)));
      }
    }
  }

  @Override
  public void close() {
    masters.forEach(Tensor::releaseReference);
    masters.clear();
  }
}
