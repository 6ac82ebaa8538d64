// ServiceLoader entry of the InternVL family.
package org.vlmr1.module.internvl;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModuleProvider;

/** InternVL2.5 / InternVL3 checkpoints (remote-code InternVLChatModel layout). */
public final class InternVlModuleProvider implements VlmModuleProvider {
  @Override
  public List<String> modelTypes() {
    return List.of("internvl_chat");
  }

  @Override
  public String vlmKey() {
    return "internvl";
  }

  @Override
  public VlmModule create(Path checkpoint, ModuleOptions options) throws IOException {
    return InternVlModule.create(checkpoint, options);
  }

  @Override
  public org.vlmr1.reward.RewardFunction selectRewardFunction(String func, String taskType) {
    return InternVlModule.rewardFor(func, taskType);
  }

  @Override
  public List<org.vlmr1.module.ProcessingKeyword> customProcessingKeywords() {
    return InternVlModule.PROCESSING_KEYWORDS;
  }
}
