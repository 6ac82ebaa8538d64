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
  private record Rule(String note, String refusal, boolean booleanFlag, String noteWhenFalse) {}

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
      refuse("lora_target_modules"), refuse("lora_modules_to_save"));

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
    if (r.refusal() != null) {
      throw new UsageException(r.refusal());
    }
    warn.println(r.note());
  }
}
