// The reward registry: VLM-R1's --reward_funcs names, and the rule by which a VLM module selects its REC rewards
// (--is_reward_customized_from_vlm_module with --task_type rec); the families pass their own reward functions.
package org.vlmr1.reward;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds reward functions by name. */
public final class Rewards {
  /** The names {@code --reward_funcs} accepts. */
  public static final List<String> NAMES = List.of("accuracy", "format", "length", "repetition");

  private Rewards() {}

  /**
   * What the rewards may need besides the samples: a token counter for {@code length}, a judge for {@code llm}, and
   * VLM-R1's DEBUG_MODE trace for {@code accuracy} and {@code format} (null means {@link RewardDebugLog#OFF}).
   */
  public record Context(TokenCounter tokens, LlmJudge judge, RewardDebugLog debugLog) {
    public static final Context NONE = new Context(null, null);

    public Context {
      debugLog = debugLog == null ? RewardDebugLog.OFF : debugLog;
    }

    /** No trace. */
    public Context(TokenCounter tokens, LlmJudge judge) {
      this(tokens, judge, RewardDebugLog.OFF);
    }

    /**
     * A training run's context from VLM-R1's environment variables: OPENAI_API_BASE and OPENAI_API_KEY for the
     * {@code llm} judge (model {@link LlmJudge#DEFAULT_MODEL}, {@link LlmJudge#DEFAULT_TIMEOUT} per request; none
     * without a base URL), DEBUG_MODE and LOG_PATH for the trace.
     *
     * @throws IllegalArgumentException DEBUG_MODE=true without LOG_PATH
     */
    public static Context fromEnvironment(TokenCounter tokens, Map<String, String> env) {
      return fromEnvironment(tokens, env, LlmJudge.DEFAULT_MODEL, LlmJudge.DEFAULT_TIMEOUT);
    }

    /** {@link #fromEnvironment(TokenCounter, Map)} with another judge model and timeout. */
    public static Context fromEnvironment(TokenCounter tokens, Map<String, String> env, String llmModel,
        Duration llmTimeout) {
      return new Context(tokens, LlmJudge.fromEnvironment(env, llmModel, llmTimeout),
          RewardDebugLog.fromEnvironment(env));
    }
  }

  /** VLM-R1's registry (grpo_jsonl.py reward_funcs_registry). */
  public static RewardFunction byName(String name, Context ctx) {
    switch (name) {
      case "accuracy": return new AccuracyReward(ctx.judge(), ctx.debugLog());
      case "format": return new FormatReward(ctx.debugLog());
      case "length": return new CosineLengthReward(ctx.tokens());
      case "repetition": return new RepetitionReward();
      default: throw new IllegalArgumentException("unknown reward function '" + name + "'; known: "
          + String.join(", ", NAMES));
    }
  }

  /**
   * VLM-R1's select_reward_func rule, shared by the families: only task "rec" has module rewards, "accuracy" (the
   * family's IoU reward) and "format" (its REC format); anything else is an error, as VLM-R1 raises ValueError.
   */
  public static RewardFunction rec(String name, String taskType, RewardFunction iou, RewardFunction format) {
    if (!"rec".equals(taskType)) {
      throw new IllegalArgumentException("module rewards exist only for --task_type rec, got " + taskType);
    }
    switch (name) {
      case "accuracy": return iou;
      case "format": return format;
      default: throw new IllegalArgumentException("module rewards for rec are accuracy and format, got " + name);
    }
  }

  /** A VLM module's rewards by name (VlmModule.selectRewardFunction for the run's task type). */
  @FunctionalInterface
  public interface ModuleRewards {
    RewardFunction select(String name);
  }

  /**
   * Several rewards by name: the module's ({@code --is_reward_customized_from_vlm_module}) when {@code module} is not
   * null, else VLM-R1's registry.
   */
  public static List<RewardFunction> resolve(List<String> names, ModuleRewards module, Context ctx) {
    List<RewardFunction> out = new ArrayList<>();
    for (String n : names) {
      out.add(module != null ? module.select(n) : byName(n, ctx));
    }
    return out;
  }
}
