// A processor setting the trainer applies from its configuration (VLM-R1's get_custom_processing_keywords).
package org.vlmr1.module;

/**
 * @param component the processor part it belongs to (Qwen: "image_processor"; InternVL: "tokenizer")
 * @param name the setting, as the CLI flag names it ({@code max_pixels}, {@code min_pixels}, {@code max_anyres_num})
 */
public record ProcessingKeyword(String component, String name) {}
