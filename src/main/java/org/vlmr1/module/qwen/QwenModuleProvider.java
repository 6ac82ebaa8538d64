// ServiceLoader entry of the Qwen family.
package org.vlmr1.module.qwen;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.vlmr1.module.FamilyProvider;
import org.vlmr1.module.TinySpec;

/** Qwen2-VL and Qwen2.5-VL checkpoints. */
public final class QwenModuleProvider extends FamilyProvider {
  public QwenModuleProvider() {
    super(QwenModule.FACTS, List.of("qwen2_vl", "qwen2_5_vl"), QwenModule::create, QwenModule::rewardFor);
  }

  @Override
  public void writeTiny(String modelType, TinySpec s, Path out) throws IOException {
    QwenTiny.write(new QwenTiny.Spec(s.hiddenSize(), s.numLayers(), s.numHeads(), s.numKvHeads(),
        s.intermediateSize(), s.visionDepth(), s.visionHidden(), 2, s.seed()), out, modelType);
  }
}
