// ServiceLoader entry of the Qwen family.
package org.vlmr1.module.qwen;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.vlmr1.data.RgbImage;
import org.vlmr1.module.FamilyProvider;
import org.vlmr1.module.PreprocessCheck;
import org.vlmr1.module.TinySpec;

/** Qwen2-VL and Qwen2.5-VL checkpoints. */
public final class QwenModuleProvider extends FamilyProvider {
  public QwenModuleProvider() {
    super(QwenModule.FACTS, List.of("qwen2_vl", "qwen2_5_vl"), QwenModule::create, QwenModule::rewardFor);
  }

  @Override
  public List<PreprocessCheck> preprocessChecks() {
    return List.of(new PreprocessCheck("Qwen image patches vs Java reference", () -> {
      RgbImage img = PreprocessCheck.randomImage(7, 61, 45);
      QwenImageProcessor proc = new QwenImageProcessor(QwenImageProcessor.DEFAULT_MIN_PIXELS, 12544);
      QwenImageProcessor.Processed a = proc.process(img);
      QwenImageProcessor.Processed r = proc.processReference(img);
      return a.grid().equals(r.grid()) ? PreprocessCheck.maxDiff(a.pixelValues(), r.pixelValues())
          : Double.POSITIVE_INFINITY;
    }));
  }

  @Override
  public void writeTiny(String modelType, TinySpec s, Path out) throws IOException {
    QwenTiny.write(new QwenTiny.Spec(s.hiddenSize(), s.numLayers(), s.numHeads(), s.numKvHeads(),
        s.intermediateSize(), s.visionDepth(), s.visionHidden(), 2, s.seed()), out, modelType);
  }
}
