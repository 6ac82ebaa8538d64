// The compute dtype of train from --bf16 and --torch_dtype (issue 12): float32 unless asked, never bfloat16 weights
// stepped by AdamW without float32 masters (VLM-R1 always runs bf16 with DeepSpeed's fp32 masters = our --bf16).
package org.vlmr1.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.vlmr1.util.Json;

/** What the policy and reference compute in. */
enum TrainDtype {
  /** float32 weights and activations; AdamW steps them directly. */
  FLOAT32,
  /** bfloat16 forward and backward with float32 master weights for AdamW. */
  BFLOAT16_WITH_FLOAT32_MASTERS;

  /**
   * {@code --torch_dtype} (null when not given): float32 / bfloat16, or auto (config.json's torch_dtype, as
   * transformers reads it); float16 is refused (no loss scaling here). {@code --bf16} asks for bfloat16 compute as
   * Hugging Face's Trainer does (autocast over float32 weights, here bfloat16 weights over float32 masters); with
   * --torch_dtype float32 that is still what it means. Without either: float32, also for a bfloat16 checkpoint.
   */
  static TrainDtype resolve(String torchDtype, boolean bf16, Path checkpoint) throws IOException {
    String d = torchDtype == null ? null : torchDtype.toLowerCase(Locale.ROOT);
    if ("auto".equals(d)) {
      d = checkpointDtype(checkpoint);
    }
    if (d == null) {
      return bf16 ? BFLOAT16_WITH_FLOAT32_MASTERS : FLOAT32;
    }
    switch (d) {
      case "float32": case "fp32": case "float":
        return bf16 ? BFLOAT16_WITH_FLOAT32_MASTERS : FLOAT32;
      case "bfloat16": case "bf16":
        return BFLOAT16_WITH_FLOAT32_MASTERS;
      case "float16": case "fp16": case "half":
        throw new UsageException("--torch_dtype " + torchDtype + ": float16 training is not supported (no loss "
            + "scaling); use --bf16 (bfloat16 with float32 master weights) or float32");
      default:
        throw new UsageException("--torch_dtype must be float32, bfloat16 or auto, got '" + torchDtype + "'");
    }
  }

  /** config.json's torch_dtype (top level, else the text/LLM config's), or null. */
  @SuppressWarnings("unchecked")
  private static String checkpointDtype(Path checkpoint) throws IOException {
    Path cfg = checkpoint.resolve("config.json");
    if (!Files.isRegularFile(cfg)) {
      return null;
    }
    Map<String, Object> c = (Map<String, Object>) Json.parse(Files.readString(cfg));
    for (Object o : new Object[] {c.get("torch_dtype"), sub(c, "text_config"), sub(c, "llm_config")}) {
      if (o instanceof String s) {
        return s.toLowerCase(Locale.ROOT);
      }
    }
    return null;
  }

  @SuppressWarnings("unchecked")
  private static Object sub(Map<String, Object> c, String key) {
    return c.get(key) instanceof Map<?, ?> m ? ((Map<String, Object>) m).get("torch_dtype") : null;
  }

  /** The start-up line that says what the run computes in and what it costs. */
  String describe() {
    return this == FLOAT32 ? "dtype: float32 (a bfloat16 checkpoint takes twice its memory in float32; --bf16 runs "
        + "bfloat16 with float32 master weights, as VLM-R1 does)"
        : "dtype: bfloat16 forward and backward, float32 master weights for AdamW";
  }
}
