// The golden case_a fixture shared by the Qwen model tests: the tiny checkpoint, loaded once per test JVM, and typed
// access to golden.safetensors.
package org.vlmr1.module.qwen;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.SafeTensorsFile;

final class QwenGolden {
  private static QwenVlModel model;
  private static SafeTensorsFile golden;

  private QwenGolden() {}

  static synchronized QwenVlModel model() throws Exception {
    if (model == null) {
      TorchRuntime.load();
      model = QwenVlModel.load(QwenImageProcessorTest.caseA().resolve("checkpoint"));
    }
    return model;
  }

  static synchronized SafeTensorsFile golden() throws Exception {
    if (golden == null) {
      golden = SafeTensorsFile.open(QwenImageProcessorTest.caseA().resolve("golden.safetensors"));
    }
    return golden;
  }

  static Tensor f32(String name) throws Exception {
    return torch.tensor(golden().floats(name)).reshape(golden().entry(name).shape());
  }

  static Tensor i64(String name) throws Exception {
    return torch.tensor(golden().longs(name)).reshape(golden().entry(name).shape());
  }

  static List<GridThw> grids(String name) throws Exception {
    long[] g = golden().longs(name);
    List<GridThw> out = new ArrayList<>();
    for (int i = 0; i < g.length; i += 3) {
      out.add(new GridThw(g[i], g[i + 1], g[i + 2]));
    }
    return out;
  }

  static Path caseA() throws Exception {
    return QwenImageProcessorTest.caseA();
  }
}
