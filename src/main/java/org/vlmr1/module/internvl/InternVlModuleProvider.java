// ServiceLoader entry of the InternVL family.
package org.vlmr1.module.internvl;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.vlmr1.data.RgbImage;
import org.vlmr1.module.FamilyProvider;
import org.vlmr1.module.PreprocessCheck;
import org.vlmr1.module.ProcessingKeyword;
import org.vlmr1.module.TinySpec;

/** InternVL2.5 / InternVL3 checkpoints (remote-code InternVLChatModel layout). */
public final class InternVlModuleProvider extends FamilyProvider {
  public InternVlModuleProvider() {
    super(InternVlModule.FACTS, List.of("internvl_chat"), InternVlModule::create, InternVlModule::rewardFor);
  }

  @Override
  public List<ProcessingKeyword> tinyOptions() {
    return List.of(new ProcessingKeyword("config", "image_size", "tile side in pixels, a multiple of 28 (default 56)"),
        new ProcessingKeyword("config", "max_dynamic_patch", "most tiles per image in config.json (default 6)"));
  }

  @Override
  public List<PreprocessCheck> preprocessChecks() {
    return List.of(new PreprocessCheck("InternVL tiles vs Java reference", () -> {
      RgbImage img = PreprocessCheck.randomImage(11, 70, 45);
      InternVlImageProcessor proc = new InternVlImageProcessor(28, 1, 6, true);
      return PreprocessCheck.maxDiff(proc.pixelValues(img), proc.pixelValuesReference(img));
    }));
  }

  @Override
  public void writeTiny(String modelType, TinySpec s, Path out) throws IOException {
    InternVlTiny.write(new InternVlTiny.Spec(s.hiddenSize(), s.numLayers(), s.numHeads(), s.numKvHeads(),
        s.intermediateSize(), s.visionDepth(), s.visionHidden(), 2, s.option("image_size", 56),
        s.option("max_dynamic_patch", 6), s.seed()), out);
  }
}
