// The InternVL golden case_a fixture (OpenGVLab InternVLChatModel, f32, eager): the tiny checkpoint loaded once per
// test JVM, and typed access to golden.safetensors.
package org.vlmr1.module.internvl;

import java.nio.file.Path;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.SafeTensorsFile;

final class InternVlGolden {
  /** case_a's <IMG_CONTEXT> id (the checkpoint ships no tokenizer; README "Special ids"). */
  static final long IMG_CONTEXT = 1014;
  static final long IM_END = 992;
  static final long PAD = 990;
  private static InternVlModel model;
  private static SafeTensorsFile golden;

  private InternVlGolden() {}

  static Path caseA() throws Exception {
    return Path.of(InternVlGolden.class.getResource("/golden/internvl/case_a/README.md").toURI()).getParent();
  }

  static synchronized InternVlModel model() throws Exception {
    if (model == null) {
      TorchRuntime.load();
      model = InternVlModel.load(caseA().resolve("checkpoint"));
      model.setImageSlotId(IMG_CONTEXT);
    }
    return model;
  }

  static synchronized SafeTensorsFile golden() throws Exception {
    if (golden == null) {
      golden = SafeTensorsFile.open(caseA().resolve("golden.safetensors"));
    }
    return golden;
  }

  static Tensor f32(String name) throws Exception {
    return torch.tensor(golden().floats(name)).reshape(golden().entry(name).shape());
  }

  static Tensor i64(String name) throws Exception {
    return torch.tensor(golden().longs(name)).reshape(golden().entry(name).shape());
  }
}
