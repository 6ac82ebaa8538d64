// bin/vlmr1 forward and generate on the golden checkpoint, with inputs written as safetensors: the outputs match
// transformers' (logits at unmasked positions, position ids, greedy ids).
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.model.SafeTensorsWriter;
import org.vlmr1.model.Weights;

class ModelCommandsTest {

  @Test
  void forwardAndGenerateMatchTheGolden(@TempDir Path dir) throws Exception {
    Path a = PrepareCommandTest.caseA();
    SafeTensorsFile golden = SafeTensorsFile.open(a.resolve("golden.safetensors"));
    Path inputs = dir.resolve("inputs.safetensors");
    try (PointerScope s = new PointerScope()) {
      Map<String, Tensor> in = new LinkedHashMap<>();
      for (String k : new String[] {"input_ids", "attention_mask", "pixel_values", "image_grid_thw"}) {
        in.put(k, Weights.tensor(golden, k));
      }
      SafeTensorsWriter.write(inputs, in);
    }
    Path fwd = dir.resolve("fwd.safetensors");
    ScoreCommandTest.Run r = ScoreCommandTest.run("forward", "--model", a.resolve("checkpoint").toString(),
        "--inputs", inputs.toString(), "--out", fwd.toString());
    assertEquals(0, r.rc(), r.err());
    SafeTensorsFile out = SafeTensorsFile.open(fwd);
    assertArrayEquals(golden.longs("position_ids"), out.longs("position_ids"));
    assertArrayEquals(golden.longs("rope_deltas"), out.longs("rope_deltas"));
    float[] want = golden.floats("logits");
    float[] got = out.floats("logits");
    long[] mask = golden.longs("attention_mask");
    double max = 0;
    for (int p = 0; p < mask.length; p++) {
      if (mask[p] == 1) {
        for (int v = 0; v < 1024; v++) {
          max = Math.max(max, Math.abs(want[p * 1024 + v] - got[p * 1024 + v]));
        }
      }
    }
    assertTrue(max <= 1e-4, "logits max |diff| " + max);

    Path gen = dir.resolve("gen.safetensors");
    r = ScoreCommandTest.run("generate", "--model", a.resolve("checkpoint").toString(), "--inputs",
        inputs.toString(), "--max-new-tokens", "8", "--greedy", "--out", gen.toString());
    assertEquals(0, r.rc(), r.err());
    assertArrayEquals(golden.longs("generated_ids"), SafeTensorsFile.open(gen).longs("generated_ids"));
  }
}
