// The command-line conventions every subcommand shares (CONVENTIONS.md "Command line").
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class FlagsTest {
  static final List<FlagSpec> SPECS = List.of(
      FlagSpec.value("max_pixels", "12845056", "max pixels"),
      FlagSpec.bool("freeze_vision_modules", "freeze"),
      FlagSpec.list("reward_funcs", "accuracy,format", "rewards"),
      FlagSpec.value("num_generations", "8", "G"));

  static Flags parse(String... args) {
    return Flags.parse(SPECS, List.of(args), new PrintStream(new ByteArrayOutputStream()));
  }

  @Test
  void snakeAndKebabCaseAndEqualsForm() {
    assertEquals(100, parse("--max_pixels", "100").getInt("max_pixels"));
    assertEquals(200, parse("--max-pixels", "200").getInt("max_pixels"));
    assertEquals(300, parse("--max-pixels=300").getInt("max_pixels"));
    assertEquals(12845056, parse().getInt("max_pixels"));
  }

  @Test
  void booleansWithAndWithoutValues() {
    assertTrue(parse("--freeze_vision_modules").getBoolean("freeze_vision_modules"));
    assertTrue(parse("--freeze-vision-modules", "True").getBoolean("freeze_vision_modules"));
    assertFalse(parse("--freeze_vision_modules", "false").getBoolean("freeze_vision_modules"));
    assertFalse(parse().getBoolean("freeze_vision_modules"));
    Flags f = parse("--freeze_vision_modules", "data.jsonl");
    assertTrue(f.getBoolean("freeze_vision_modules"));
    assertEquals(List.of("data.jsonl"), f.positionals());
    assertThrows(UsageException.class, () -> parse("--freeze_vision_modules=maybe"));
  }

  /** Hugging Face's string_to_bool words in any case; anything else is a usage error. */
  @Test
  void booleansTakeStringToBoolWords() {
    for (String yes : new String[] {"yes", "YES", "true", "T", "y", "1"}) {
      assertTrue(parse("--freeze_vision_modules", yes).getBoolean("freeze_vision_modules"), yes);
      assertTrue(parse("--freeze_vision_modules=" + yes).getBoolean("freeze_vision_modules"), yes);
    }
    for (String no : new String[] {"no", "False", "f", "N", "0"}) {
      assertFalse(parse("--freeze_vision_modules", no).getBoolean("freeze_vision_modules"), no);
    }
    UsageException e = assertThrows(UsageException.class, () -> parse("--freeze_vision_modules=on"));
    assertTrue(e.getMessage().contains("yes/no"), e.getMessage());
  }

  /** VLM-R1's run-script flags: a line each for those that change nothing, refusals for those vlmr1 lacks. */
  @Test
  void vlmR1RunScriptFlagsAreNotedOrRefused() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Flags f = Flags.parse(SPECS, List.of("--use_vllm", "False", "--attn_implementation", "flash_attention_2",
        "--dataset-name", "x", "--data_seed", "42", "--gradient_checkpointing", "true", "--max_prompt_length", "1024",
        "--use_peft", "false", "--num_generations", "4"), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(4, f.getInt("num_generations"));
    String w = err.toString(StandardCharsets.UTF_8);
    assertTrue(w.contains("--attn_implementation has no meaning") && w.contains("--data_seed") && w.contains(
        "VLM-R1's sampler ignores it too") && w.contains("--dataset_name"), w);
    assertTrue(w.contains("--gradient_checkpointing: implemented for train only: here activations are kept (more "
        + "memory), results identical"), w);
    assertTrue(w.contains("Setting max_prompt_length is currently not supported, it has been set to None"), w);
    assertTrue(f.positionals().isEmpty(), "their values are consumed: " + f.positionals());
    assertEquals("", noted("--gradient_checkpointing", "false"), "turned off: nothing to say");
    UsageException vllm = assertThrows(UsageException.class, () -> parse("--use_vllm", "True"));
    assertTrue(vllm.getMessage().contains("rollout engine is built in"), vllm.getMessage());
    assertThrows(UsageException.class, () -> parse("--use_vllm"));
    for (String[] lora : new String[][] {{"--use_peft", "true"}, {"--use_peft"}, {"--lora_r", "64"},
        {"--lora_alpha", "128"}, {"--lora_modules_to_save", "lm_head"}}) {
      UsageException e = assertThrows(UsageException.class, () -> parse(lora));
      assertTrue(e.getMessage().contains("LoRA is implemented for train only"), e.getMessage());
    }
    assertThrows(UsageException.class, () -> parse("--use_peft", "maybe"));
  }

  /**
   * GRPOScriptArguments / GRPOConfig / TrainingArguments fields VLM-R1 accepts but that are no run-script flag: each
   * is noted when it changes nothing here and refused, with the reason, when it would (the old code refused them all
   * as unknown flags).
   */
  @Test
  void vlmR1ConfigFieldsAreNotedOrRefusedByValue() {
    String w = noted("--arrow_cache_dir", "/cache", "--ds3_gather_for_generation", "true", "--remove_unused_columns",
        "False", "--min_p", "None", "--repetition_penalty", "1.0", "--val_split_ratio", "0", "--save_strategy",
        "steps", "--sync_ref_model", "false", "--fp16", "false", "--ref_model_sync_steps", "512");
    for (String flag : new String[] {"--arrow_cache_dir has no meaning", "--ds3_gather_for_generation",
        "--remove_unused_columns false", "--min_p", "--repetition_penalty 1", "--val_split_ratio 0",
        "--save_strategy steps", "--ref_model_sync_steps has no meaning"}) {
      assertTrue(w.contains(flag), flag + " in: " + w);
    }
    for (String[] refused : new String[][] {{"--min_p", "0.05"}, {"--repetition_penalty", "1.1"},
        {"--val_split_ratio", "0.1"}, {"--save_strategy", "epoch"}, {"--save_strategy", "no"},
        {"--sync_ref_model", "true"}, {"--fp16"}, {"--min_p"}}) {
      UsageException e = assertThrows(UsageException.class, () -> parse(refused), String.join(" ", refused));
      assertTrue(e.getMessage().startsWith("--" + refused[0].substring(2)), e.getMessage());
    }
    UsageException split = assertThrows(UsageException.class, () -> parse("--val_split_ratio", "0.1"));
    assertTrue(split.getMessage().contains("bin/vlmr1 eval"), split.getMessage());
  }

  @Test
  void ddpTimeoutIsDistTimeout() {
    List<FlagSpec> specs = List.of(FlagSpec.value("dist_timeout", "600", "seconds"));
    Flags f = Flags.parse(specs, List.of("--ddp_timeout", "1800"), new PrintStream(new ByteArrayOutputStream()));
    assertEquals(1800, f.getInt("dist_timeout"));
    assertThrows(UsageException.class, () -> parse("--ddp_timeout", "1800"), "only where dist_timeout exists");
  }

  private static String noted(String... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Flags.parse(SPECS, List.of(args), new PrintStream(err, true, StandardCharsets.UTF_8));
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void listsCommaOrSpaceSeparated() {
    assertEquals(List.of("accuracy", "format"), parse("--reward_funcs", "accuracy", "format").getList("reward_funcs"));
    assertEquals(List.of("iou", "format"), parse("--reward_funcs", "iou,format").getList("reward_funcs"));
    assertEquals(List.of("accuracy", "format"), parse().getList("reward_funcs"));
  }

  @Test
  void ignoredVlmR1FlagsWarnOnce() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Flags f = Flags.parse(SPECS, List.of("--deepspeed", "zero3.json", "--report_to", "wandb", "--num_generations",
        "4"), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(4, f.getInt("num_generations"));
    String w = err.toString(StandardCharsets.UTF_8);
    assertTrue(w.contains("--deepspeed has no meaning") && w.contains("--report_to has no meaning"), w);
    assertTrue(f.positionals().isEmpty(), "the ignored flags' values are consumed");
  }

  @Test
  void unknownFlagSuggestsTheClosest() {
    UsageException e = assertThrows(UsageException.class, () -> parse("--num_generation", "4"));
    assertTrue(e.getMessage().contains("did you mean --num_generations?"), e.getMessage());
    assertThrows(UsageException.class, () -> parse("--max_pixels"));
    assertThrows(UsageException.class, () -> parse("--num_generations", "x").getInt("num_generations"));
  }

  @Test
  void mainReportsUsageErrorsInOneLine() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = Main.run(List.of("benhc"), new PrintStream(out), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(2, rc);
    String e = err.toString(StandardCharsets.UTF_8);
    assertTrue(e.startsWith("vlmr1: unknown command 'benhc'") && e.contains("bench"), e);
    assertEquals(1, e.strip().lines().count());
    assertEquals(0, Main.run(List.of("bench", "--help"), new PrintStream(out), new PrintStream(err)));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("--quick"));
  }

  @Test
  void configFilesFeedFlagsAndTheCommandLineWins(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path yaml = dir.resolve("c.yaml");
    java.nio.file.Files.writeString(yaml, "# a VLM-R1 style config\nnum_generations: 4\nreward_funcs: [accuracy, format]"
        + "\nmax-pixels: \"401408\"  # quoted\n");
    List<String> args = ConfigFile.expand(List.of("--config", yaml.toString(), "--num_generations", "2"));
    Flags f = Flags.parse(SPECS, args, new PrintStream(new ByteArrayOutputStream()));
    assertEquals(2, f.getInt("num_generations"), "the command line wins");
    assertEquals(List.of("accuracy", "format"), f.getList("reward_funcs"));
    assertEquals(401408, f.getInt("max_pixels"));
    java.nio.file.Path json = dir.resolve("c.json");
    java.nio.file.Files.writeString(json, "{\"freeze_vision_modules\": true, \"num_generations\": 6}");
    Flags g = Flags.parse(SPECS, ConfigFile.expand(List.of("--config", json.toString())),
        new PrintStream(new ByteArrayOutputStream()));
    assertTrue(g.getBoolean("freeze_vision_modules"));
    assertEquals(6, g.getInt("num_generations"));
    java.nio.file.Files.writeString(yaml, "model:\n  name: x\n");
    assertThrows(UsageException.class, () -> ConfigFile.expand(List.of("--config", yaml.toString())));
  }

  /**
   * YAML as YAML reads it: " #" inside quotes is text; --config=FILE; a --key=value override and a list on the command
   * line replace the file's (the old parser cut the quoted value, missed both spellings and piled lists up).
   */
  @Test
  void configFileQuotesEqualsFormsAndListsReplace(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path yaml = dir.resolve("c.yaml");
    java.nio.file.Files.writeString(yaml, "num_generations: 4   # G\nreward_funcs: [accuracy, format]\n"
        + "output_dir: \"runs/a #1\"\nfreeze_vision_modules: true\n");
    List<FlagSpec> specs = new java.util.ArrayList<>(SPECS);
    specs.add(FlagSpec.value("output_dir", null, "out"));
    Flags f = Flags.parse(specs, ConfigFile.expand(List.of("--config=" + yaml, "--num_generations=2",
        "--reward-funcs", "iou")), new PrintStream(new ByteArrayOutputStream()));
    assertEquals(2, f.getInt("num_generations"), "--key=value wins");
    assertEquals(List.of("iou"), f.getList("reward_funcs"), "the command line's list replaces the file's");
    assertEquals("runs/a #1", f.get("output_dir"), "a quoted # is text");
    assertTrue(f.getBoolean("freeze_vision_modules"));
  }
}
