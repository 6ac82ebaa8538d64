// ServiceLoader entry of the Qwen family.
package org.vlmr1.module.qwen;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModuleProvider;

/** Qwen2-VL and Qwen2.5-VL checkpoints. */
public final class QwenModuleProvider implements VlmModuleProvider {
  @Override
  public List<String> modelTypes() {
    return List.of("qwen2_vl", "qwen2_5_vl");
  }

  @Override
  public String vlmKey() {
    return "qwen";
  }

  @Override
  public VlmModule create(Path checkpoint, ModuleOptions options) throws IOException {
    return QwenModule.create(checkpoint, options);
  }

  @Override
  public org.vlmr1.reward.RewardFunction selectRewardFunction(String func, String taskType) {
    return QwenModule.rewardFor(func, taskType);
  }

  @Override
  public List<org.vlmr1.module.ProcessingKeyword> customProcessingKeywords() {
    return QwenModule.PROCESSING_KEYWORDS;
  }
}
