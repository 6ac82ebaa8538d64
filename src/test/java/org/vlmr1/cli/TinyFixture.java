// The smallest data and model a CLI test trains: synthetic REC images and a one-layer tiny Qwen2.5-VL checkpoint.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.model.Weights;

/** Writes CLI tests' fixtures through the commands themselves. */
final class TinyFixture {
  private TinyFixture() {}

  /** {@code n} synthetic examples of {@code width} x {@code height} into {@code data}, a tiny model into {@code model}.
   */
  static void write(Path data, int n, int width, int height, Path model) {
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", data.toString(), "--n", String.valueOf(n),
        "--width", String.valueOf(width), "--height", String.valueOf(height)).rc());
    assertEquals(0, ScoreCommandTest.run("init-tiny", "--out", model.toString(), "--hidden_size", "32",
        "--num_layers", "1", "--vision_depth", "1").rc());
  }

  /**
   * The input_ids and attention_mask of the batch {@code prepare} wrote to {@code prepared}, in a map to which a
   * test adds the tensors of the batch it builds (call it inside a PointerScope).
   */
  static Map<String, Tensor> textOf(Path prepared) throws IOException {
    SafeTensorsFile f = SafeTensorsFile.open(prepared);
    Map<String, Tensor> t = new LinkedHashMap<>();
    t.put("input_ids", Weights.tensor(f, "input_ids"));
    t.put("attention_mask", Weights.tensor(f, "attention_mask"));
    return t;
  }
}
