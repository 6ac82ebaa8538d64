// The reward registry: VLM-R1's --reward_funcs names, and the REC rewards a VLM module selects
// (--is_reward_customized_from_vlm_module with --task_type rec).
package org.vlmr1.reward;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
   * A VLM module's reward ({@code select_reward_func}): only task "rec" has them, for "accuracy" (IoU) and "format".
   *
   * @param vlmKey "qwen" or "internvl"
   */
  public static RewardFunction fromVlmModule(String vlmKey, String name, String taskType) {
    String key = vlmKey == null ? "" : vlmKey.toLowerCase(Locale.ROOT);
    if (!key.equals("qwen") && !key.equals("internvl")) {
      throw new IllegalArgumentException("no module rewards for VLM '" + vlmKey + "'; known: qwen, internvl");
    }
    if (!"rec".equals(taskType)) {
      throw new IllegalArgumentException("module rewards exist only for --task_type rec, got " + taskType);
    }
    boolean qwen = key.equals("qwen");
    switch (name) {
      case "accuracy": return qwen ? RecIouReward.qwen() : RecIouReward.internVl();
      case "format": return qwen ? RecFormatReward.qwen() : RecFormatReward.internVl();
      default: throw new IllegalArgumentException("module rewards for rec are accuracy and format, got " + name);
    }
  }

  /** Several rewards by name (from the module for rec when {@code vlmKey} is set). */
  public static List<RewardFunction> resolve(List<String> names, String vlmKey, String taskType, Context ctx) {
    List<RewardFunction> out = new ArrayList<>();
    for (String n : names) {
      out.add(vlmKey != null ? fromVlmModule(vlmKey, n, taskType) : byName(n, ctx));
    }
    return out;
  }
}
