// The ServiceLoader hook through which a model family plugs in (META-INF/services/org.vlmr1.module.VlmModuleProvider).
package org.vlmr1.module;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Creates a family's {@link VlmModule} for a checkpoint. */
public interface VlmModuleProvider {
  /** The config.json {@code model_type} values this family reads (e.g. qwen2_vl, qwen2_5_vl). */
  List<String> modelTypes();

  /** The family's key ({@link VlmModule#vlmKey()}), for an explicit {@code --vlm} override. */
  String vlmKey();

  VlmModule create(Path checkpoint, ModuleOptions options) throws IOException;

  /** The family's processing keywords without a checkpoint (what the command line declares for it). */
  List<ProcessingKeyword> customProcessingKeywords();

  /** The family's {@link VlmModule#selectRewardFunction} without a checkpoint (VLM-R1's is a static method). */
  org.vlmr1.reward.RewardFunction selectRewardFunction(String func, String taskType);
}
