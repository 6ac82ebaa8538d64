// A VlmModuleProvider from a family's facts (key, model types, module factory, rewards, processing keywords), so a
// family's ServiceLoader entry is one constructor call rather than the same methods written again.
package org.vlmr1.module;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.vlmr1.reward.RewardFunction;

/** Base of the families' ServiceLoader entries (they need a public no-argument constructor). */
public abstract class FamilyProvider implements VlmModuleProvider {
  /** How a family builds its module for a checkpoint. */
  @FunctionalInterface
  public interface Factory {
    VlmModule create(Path checkpoint, ModuleOptions options) throws IOException;
  }

  /** VLM-R1's select_reward_func of the family (no checkpoint needed). */
  @FunctionalInterface
  public interface RewardSelector {
    RewardFunction select(String func, String taskType);
  }

  private final String vlmKey;
  private final List<String> modelTypes;
  private final Factory factory;
  private final RewardSelector rewards;
  private final List<ProcessingKeyword> processingKeywords;

  protected FamilyProvider(String vlmKey, List<String> modelTypes, Factory factory, RewardSelector rewards,
      List<ProcessingKeyword> processingKeywords) {
    this.vlmKey = vlmKey;
    this.modelTypes = List.copyOf(modelTypes);
    this.factory = factory;
    this.rewards = rewards;
    this.processingKeywords = List.copyOf(processingKeywords);
  }

  @Override
  public List<String> modelTypes() {
    return modelTypes;
  }

  @Override
  public String vlmKey() {
    return vlmKey;
  }

  @Override
  public VlmModule create(Path checkpoint, ModuleOptions options) throws IOException {
    return factory.create(checkpoint, options);
  }

  @Override
  public RewardFunction selectRewardFunction(String func, String taskType) {
    return rewards.select(func, taskType);
  }

  @Override
  public List<ProcessingKeyword> customProcessingKeywords() {
    return processingKeywords;
  }
}
