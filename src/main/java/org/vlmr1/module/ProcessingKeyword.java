// A processor setting the trainer applies from its configuration (VLM-R1's get_custom_processing_keywords): each
// family declares its own, and the command line accepts exactly those of the checkpoint's family.
package org.vlmr1.module;

/**
 * @param component the processor part it belongs to (Qwen: "image_processor"; InternVL: "tokenizer")
 * @param name the setting, as the CLI flag names it ({@code max_pixels}, {@code min_pixels}, {@code max_anyres_num})
 * @param help one line for {@code --help}, with the default
 */
public record ProcessingKeyword(String component, String name, String help) {
  public ProcessingKeyword {
    if (name == null || !name.matches("[a-z][a-z0-9_]*")) {
      throw new IllegalArgumentException("a processing keyword is a snake_case name, got " + name);
    }
  }
}
