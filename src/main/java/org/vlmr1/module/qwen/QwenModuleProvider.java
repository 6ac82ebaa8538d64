// ServiceLoader entry of the Qwen family.
package org.vlmr1.module.qwen;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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

  /** init-tiny --like: Qwen2.5-VL-3B-Instruct's widths (docs/ARCHITECTURES.md A1). */
  static final String QWEN2_5_VL_3B = "qwen2_5_vl_3b";

  @Override
  public Map<String, TinySpec.Preset> tinyPresets() {
    QwenTiny.Spec q = QwenTiny.Spec.qwen25Vl3b(36, 32, 0);
    return Map.of(QWEN2_5_VL_3B, new TinySpec.Preset("qwen2_5_vl", new TinySpec(q.hiddenSize(), q.numLayers(),
        q.numHeads(), q.numKvHeads(), q.intermediateSize(), q.visionDepth(), q.visionHidden(), 0,
        Map.of("like", QWEN2_5_VL_3B))));
  }

  @Override
  public void writeTiny(String modelType, TinySpec s, Path out) throws IOException {
    String like = s.options().get("like");
    if (like == null) {
      QwenTiny.write(new QwenTiny.Spec(s.hiddenSize(), s.numLayers(), s.numHeads(), s.numKvHeads(),
          s.intermediateSize(), s.visionDepth(), s.visionHidden(), 2, s.seed()), out, modelType);
      return;
    }
    TinySpec.Preset found = tinyPresets().get(like);
    if (found == null || !modelType.equals(found.modelType())) {
      throw new IllegalArgumentException("--like " + like + " is not a " + modelType + " preset; known: "
          + tinyPresets().keySet());
    }
    TinySpec preset = found.sizes();
    if (s.hiddenSize() != preset.hiddenSize() || s.numHeads() != preset.numHeads()
        || s.numKvHeads() != preset.numKvHeads() || s.intermediateSize() != preset.intermediateSize()
        || s.visionHidden() != preset.visionHidden()) {
      throw new IllegalArgumentException("--like " + like + " keeps the model's widths; only --num_layers, "
          + "--vision_depth and --seed change");
    }
    QwenTiny.write(QwenTiny.Spec.qwen25Vl3b(s.numLayers(), s.visionDepth(), s.seed()), out, modelType);
  }
}
