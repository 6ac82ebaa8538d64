// A VlmModuleProvider from a family's facts (FamilyFacts, model types, module factory, rewards), so a family's
// ServiceLoader entry is one constructor call rather than the same methods written again.
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

  private final FamilyFacts facts;
  private final List<String> modelTypes;
  private final Factory factory;
  private final RewardSelector rewards;

  /** @param modelTypes the config.json model_type values the family reads */
  protected FamilyProvider(FamilyFacts facts, List<String> modelTypes, Factory factory, RewardSelector rewards) {
    this.facts = facts;
    this.modelTypes = List.copyOf(modelTypes);
    this.factory = factory;
    this.rewards = rewards;
  }

  @Override
  public List<String> modelTypes() {
    return modelTypes;
  }

  @Override
  public String vlmKey() {
    return facts.vlmKey();
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
    return facts.processingKeywords();
  }
}
