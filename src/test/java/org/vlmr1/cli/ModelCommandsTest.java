// bin/vlmr1 forward and generate on the golden checkpoint, with inputs written as safetensors: the outputs match
// transformers' (logits at unmasked positions, position ids, greedy ids), also when --image_token_id names another
// <|image_pad|> id than config.json's.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
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
    double max = unmaskedLogitsDiff(golden, out);
    assertTrue(max <= 1e-4, "logits max |diff| " + max);

    Path gen = dir.resolve("gen.safetensors");
    r = ScoreCommandTest.run("generate", "--model", a.resolve("checkpoint").toString(), "--inputs",
        inputs.toString(), "--max-new-tokens", "8", "--greedy", "--out", gen.toString());
    assertEquals(0, r.rc(), r.err());
    assertArrayEquals(golden.longs("generated_ids"), SafeTensorsFile.open(gen).longs("generated_ids"));
    // sampling flags beside --greedy change nothing, and say so (the old code took them without a word)
    r = ScoreCommandTest.run("generate", "--model", a.resolve("checkpoint").toString(), "--inputs",
        inputs.toString(), "--max-new-tokens", "8", "--greedy", "--temperature", "0.5", "--top_k", "3", "--out",
        gen.toString());
    assertEquals(0, r.rc(), r.err());
    assertArrayEquals(golden.longs("generated_ids"), SafeTensorsFile.open(gen).longs("generated_ids"));
    assertTrue(r.err().contains("warning: --greedy takes the argmax: --temperature, --top_k not used"), r.err());
  }

  @Test
  void imageTokenIdFlagPicksTheImageTokens(@TempDir Path dir) throws Exception {
    Path a = PrepareCommandTest.caseA();
    SafeTensorsFile golden = SafeTensorsFile.open(a.resolve("golden.safetensors"));
    long configId = 1012; // case_a config.json's image_token_id
    long[] ids = golden.longs("input_ids");
    long seed = System.nanoTime();
    System.out.println("imageTokenIdFlagPicksTheImageTokens: seed " + seed);
    Random rnd = new Random(seed);
    long other = freeId(ids, rnd); // an id the prompts do not use otherwise
    long[] moved = ids.clone();
    int n = 0;
    for (int i = 0; i < moved.length; i++) {
      if (moved[i] == configId) {
        moved[i] = other;
        n++;
      }
    }
    assertTrue(n > 0, "the golden batch has image tokens");
    Path inputs = dir.resolve("inputs.safetensors");
    try (PointerScope s = new PointerScope()) {
      Map<String, Tensor> in = new LinkedHashMap<>();
      in.put("input_ids", torch.tensor(moved).reshape(golden.entry("input_ids").shape()));
      for (String k : new String[] {"attention_mask", "pixel_values", "image_grid_thw"}) {
        in.put(k, Weights.tensor(golden, k));
      }
      SafeTensorsWriter.write(inputs, in);
    }
    String model = a.resolve("checkpoint").toString();
    // Without the flag config.json's id finds no image token.
    ScoreCommandTest.Run r = ScoreCommandTest.run("forward", "--model", model, "--inputs", inputs.toString(),
        "--out", dir.resolve("no-flag.safetensors").toString());
    assertTrue(r.rc() != 0 && r.err().contains("image tokens"), r.err());
    // With it, the moved tokens are the image tokens: the golden positions and logits come back.
    Path fwd = dir.resolve("fwd.safetensors");
    r = ScoreCommandTest.run("forward", "--model", model, "--inputs", inputs.toString(), "--out", fwd.toString(),
        "--image_token_id", Long.toString(other));
    assertEquals(0, r.rc(), r.err());
    SafeTensorsFile out = SafeTensorsFile.open(fwd);
    assertArrayEquals(golden.longs("position_ids"), out.longs("position_ids"), "image id " + other);
    double max = unmaskedLogitsDiff(golden, out);
    assertTrue(max <= 1e-4, "image id " + other + ": logits max |diff| " + max);
    Path gen = dir.resolve("gen.safetensors");
    r = ScoreCommandTest.run("generate", "--model", model, "--inputs", inputs.toString(), "--max-new-tokens", "8",
        "--greedy", "--out", gen.toString(), "--image_token_id", Long.toString(other));
    assertEquals(0, r.rc(), r.err());
    assertArrayEquals(golden.longs("generated_ids"), SafeTensorsFile.open(gen).longs("generated_ids"));
  }

  /** The largest |logit difference| at the unmasked positions (padded positions' logits mean nothing). */
  private static double unmaskedLogitsDiff(SafeTensorsFile golden, SafeTensorsFile out) throws Exception {
    float[] want = golden.floats("logits");
    float[] got = out.floats("logits");
    long[] mask = golden.longs("attention_mask");
    int v = want.length / mask.length;
    double max = 0;
    for (int p = 0; p < mask.length; p++) {
      if (mask[p] == 1) {
        for (int k = 0; k < v; k++) {
          max = Math.max(max, Math.abs(want[p * v + k] - got[p * v + k]));
        }
      }
    }
    return max;
  }

  /** A random id below 1024 that the batch does not hold. */
  private static long freeId(long[] ids, Random rnd) {
    while (true) {
      long c = rnd.nextInt(1024);
      if (java.util.Arrays.stream(ids).noneMatch(v -> v == c)) {
        return c;
      }
    }
  }
}
