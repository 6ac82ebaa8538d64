// VLM-R1 run-script flags that vlmr1's commands do not declare (issue 12's table): flags that truly change nothing
// here are accepted with one line saying what they mean here; flags that would change results, memory or disk use and
// are not implemented are refused, so a published script never trains something else in silence.
package org.vlmr1.cli;

import java.io.PrintStream;
import java.util.Map;

/** What each foreign flag means in vlmr1. */
final class CompatFlags {
  private CompatFlags() {}

  /**
   * How a foreign flag is treated: its note (printed) or refusal (a usage error); a boolean flag given as false asks
   * for nothing vlmr1 lacks and prints {@code noteWhenFalse} if any.
   */
  private record Rule(String note, String refusal, boolean booleanFlag, String noteWhenFalse,
      java.util.function.Predicate<String> harmless) {
    Rule(String note, String refusal, boolean booleanFlag, String noteWhenFalse) {
      this(note, refusal, booleanFlag, noteWhenFalse, null);
    }
  }

  private static final String METRICS = "no experiment tracker is used; metrics go to <output_dir>/metrics.jsonl";
  // train declares the LoRA flags itself; these rules answer the commands that do not train with GRPO
  private static final String LORA = "LoRA is implemented for train only: refusing rather than training every "
      + "parameter in its place";

  private static final Map<String, Rule> RULES = Map.ofEntries(
      note("deepspeed", "--deepspeed has no meaning in vlmr1: DeepSpeed is not used (data parallelism: "
          + "--nproc_per_node; optimizer-state sharding: --zero_stage 1; bf16 with float32 masters: --bf16)"),
      note("attn_implementation", "--attn_implementation has no meaning in vlmr1: attention is libtorch's on the "
          + "model's device, with the same results"),
      note("dataset_name", "--dataset_name has no meaning in vlmr1 (grpo_jsonl.py does not use it either): data "
          + "comes from --data_file_paths"),
      note("run_name", "--run_name has no meaning in vlmr1: " + METRICS),
      note("logging_dir", "--logging_dir has no meaning in vlmr1: " + METRICS),
      note("report_to", "--report_to has no meaning in vlmr1: " + METRICS),
      note("dataloader_num_workers", "--dataloader_num_workers has no meaning in vlmr1: images decode on a "
          + "background pool while earlier micro-batches generate"),
      note("data_seed", "--data_seed has no meaning in vlmr1: VLM-R1's sampler ignores it too; data order and "
          + "sampling come from --seed"),
      note("max_prompt_length", "Setting max_prompt_length is currently not supported, it has been set to None"),
      Map.entry("use_vllm", new Rule(null, "--use_vllm True: vLLM is not used; the rollout engine is built "
          + "in (pass --use_vllm False or drop the flag)", true, "--use_vllm False: rollouts come from vlmr1's own "
          + "generation engine")),
      // train declares it; the other commands keep activations, which changes memory only
      Map.entry("gradient_checkpointing", new Rule("warning: --gradient_checkpointing: implemented for train only: "
          + "here activations are kept (more memory), results identical", null, true, null)),
      Map.entry("use_peft", new Rule(null, LORA + " (--use_peft true)", true, null)),
      refuse("lora_r"), refuse("lora_alpha"), refuse("lora_dropout"), refuse("lora_task_type"),
      refuse("lora_target_modules"), refuse("lora_modules_to_save"),
      // GRPOScriptArguments / GRPOConfig / TrainingArguments fields that VLM-R1 accepts (VLM-R1-SPEC.md 5)
      note("arrow_cache_dir", "--arrow_cache_dir has no meaning in vlmr1 (grpo_jsonl.py does not use it either): "
          + "the JSONL files are read directly"),
      Map.entry("ds3_gather_for_generation", new Rule("--ds3_gather_for_generation has no meaning in vlmr1: no "
          + "ZeRO-3 sharding, generation always has the whole model", null, true,
          "--ds3_gather_for_generation false has no meaning in vlmr1: no ZeRO-3 sharding")),
      Map.entry("remove_unused_columns", new Rule("--remove_unused_columns: every data column still reaches the "
          + "reward functions (VLM-R1's default is False: its rewards need them)", null, true,
          "--remove_unused_columns false: every data column reaches the reward functions, as in VLM-R1")),
      Map.entry("fp16", new Rule(null, "--fp16 true: float16 training is not supported; --bf16 runs bfloat16 with "
          + "float32 master weights", true, null)),
      Map.entry("sync_ref_model", new Rule(null, "--sync_ref_model true: syncing the reference model is not "
          + "implemented (VLM-R1's trainer ignores the flag too); the reference stays the initial model", true,
          null)),
      note("ref_model_mixup_alpha", "--ref_model_mixup_alpha has no meaning in vlmr1: the reference is never "
          + "synced (VLM-R1 ignores it too)"),
      note("ref_model_sync_steps", "--ref_model_sync_steps has no meaning in vlmr1: the reference is never synced "
          + "(VLM-R1 ignores it too)"),
      valued("min_p", v -> v.equalsIgnoreCase("none") || number(v) == 0, "--min_p: no min-p filtering (VLM-R1's "
          + "trainer ignores the flag too)", "min-p filtering is not implemented (VLM-R1's trainer ignores the "
          + "flag: its sampling settings are fixed); vlmr1 samples with --temperature, --top_k and --top_p"),
      valued("repetition_penalty", v -> number(v) == 1, "--repetition_penalty 1: no penalty, as in VLM-R1",
          "a repetition penalty is not implemented (VLM-R1's trainer ignores the flag: its sampling settings are "
          + "fixed); vlmr1 samples with --temperature, --top_k and --top_p"),
      valued("val_split_ratio", v -> number(v) == 0, "--val_split_ratio 0: no validation split",
          "the random validation split is not implemented: split the JSONL file and score the held-out part "
          + "with `bin/vlmr1 eval`"),
      valued("save_strategy", v -> v.equalsIgnoreCase("steps"), "--save_strategy steps: checkpoints every "
          + "--save_steps, as Hugging Face's", "only 'steps' is implemented (checkpoints every --save_steps; "
          + "--save_steps 0 saves only at the end)"));

  /** A flag whose harmless values (VLM-R1's defaults, which change nothing) get a note and others a refusal. */
  private static Map.Entry<String, Rule> valued(String name, java.util.function.Predicate<String> harmless,
      String note, String refusal) {
    return Map.entry(name, new Rule(note, refusal, false, null, harmless));
  }

  /** A flag value as a number, NaN when it is none. */
  private static double number(String v) {
    try {
      return Double.parseDouble(v.trim());
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }

  private static Map.Entry<String, Rule> note(String name, String note) {
    return Map.entry(name, new Rule(note, null, false, null));
  }

  private static Map.Entry<String, Rule> refuse(String name) {
    return Map.entry(name, new Rule(null, LORA + " (--" + name + ")", false, null));
  }

  static boolean knows(String name) {
    return RULES.containsKey(name);
  }

  /** Whether a flag is boolean-valued (its value is read with Hugging Face's string_to_bool words). */
  static boolean isBoolean(String name) {
    return RULES.get(name).booleanFlag();
  }

  /**
   * Prints the flag's line to {@code warn}, or throws a usage error when vlmr1 refuses it.
   *
   * @param value the value given (null when none); booleans arrive as "true" or "false"
   */
  static void apply(String name, String value, PrintStream warn) {
    Rule r = RULES.get(name);
    boolean off = r.booleanFlag() && "false".equals(value);
    if (off) {
      if (r.noteWhenFalse() != null) {
        warn.println(r.noteWhenFalse());
      }
      return; // a boolean feature turned off asks for nothing vlmr1 lacks
    }
    if (r.harmless() != null) {
      if (value == null) {
        throw new UsageException("--" + name + " needs a value");
      }
      if (!r.harmless().test(value)) {
        throw new UsageException("--" + name + " " + value + ": " + r.refusal());
      }
      warn.println(r.note());
      return;
    }
    if (r.refusal() != null) {
      throw new UsageException(r.refusal());
    }
    warn.println(r.note());
  }
}
