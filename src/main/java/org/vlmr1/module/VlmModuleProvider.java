// The ServiceLoader hook through which a model family plugs in (META-INF/services/org.vlmr1.module.VlmModuleProvider).
package org.vlmr1.module;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Creates a family's {@link VlmModule} for a checkpoint. */
public interface VlmModuleProvider {
  /** The config.json {@code model_type} values this family reads (e.g. qwen2_vl, qwen2_5_vl). */
  List<String> modelTypes();

  /** The family's key ({@link VlmModule#vlmKey()}), for an explicit {@code --vlm} override. */
  String vlmKey();

  VlmModule create(Path checkpoint, ModuleOptions options) throws IOException;

  /** The family's preprocessing self-checks (native kernels against its Java reference) for doctor; none by default. */
  default List<PreprocessCheck> preprocessChecks() {
    return List.of();
  }

  /** Options of this family's tiny checkpoints beyond {@link TinySpec}'s sizes (name and help; none by default). */
  default List<ProcessingKeyword> tinyOptions() {
    return List.of();
  }

  /**
   * The sizes of a released model this family can write at full width for {@code init-tiny --like NAME} (with
   * {@code "like" -> NAME} among the options, so {@link #writeTiny} writes it as the hub ships it); none by default.
   */
  default Map<String, TinySpec.Preset> tinyPresets() {
    return Map.of();
  }

  /** Writes a tiny random checkpoint of config.json {@code modelType} (one of {@link #modelTypes}) into {@code out}. */
  default void writeTiny(String modelType, TinySpec spec, Path out) throws IOException {
    throw new UnsupportedOperationException("the " + vlmKey() + " family writes no tiny checkpoints");
  }

  /** The family's processing keywords without a checkpoint (what the command line declares for it). */
  List<ProcessingKeyword> customProcessingKeywords();

  /** The family's {@link VlmModule#selectRewardFunction} without a checkpoint (VLM-R1's is a static method). */
  org.vlmr1.reward.RewardFunction selectRewardFunction(String func, String taskType);
}
