// bin/vlmr1 forward / generate / prepare / init-tiny for InternVL: the golden checkpoint (no tokenizer files, ids from
// flags and llm_config) gives transformers' logits, per-tile vision embeddings and greedy ids; prepare on a tiny
// checkpoint writes input_ids, attention_mask, pixel_values and image_flags.
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

class InternVlCommandsTest {
  static Path caseA() throws Exception {
    return Path.of(InternVlCommandsTest.class.getResource("/golden/internvl/case_a/README.md").toURI()).getParent();
  }

  @Test
  void forwardAndGenerateMatchTheGolden(@TempDir Path dir) throws Exception {
    Path a = caseA();
    SafeTensorsFile golden = SafeTensorsFile.open(a.resolve("golden.safetensors"));
    Path inputs = dir.resolve("inputs.safetensors");
    try (PointerScope s = new PointerScope()) {
      Map<String, Tensor> in = new LinkedHashMap<>();
      for (String k : new String[] {"input_ids", "attention_mask", "pixel_values", "image_flags"}) {
        in.put(k, Weights.tensor(golden, k));
      }
      SafeTensorsWriter.write(inputs, in);
    }
    Path fwd = dir.resolve("fwd.safetensors");
    ScoreCommandTest.Run r = ScoreCommandTest.run("forward", "--model", a.resolve("checkpoint").toString(),
        "--inputs", inputs.toString(), "--img_context_token_id", "1014", "--out", fwd.toString());
    assertEquals(0, r.rc(), r.err());
    SafeTensorsFile out = SafeTensorsFile.open(fwd);
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
    assertArrayEquals(golden.entry("vit_embeds").shape(), out.entry("vision_embeds").shape());
    float[] ve = golden.floats("vit_embeds");
    float[] vg = out.floats("vision_embeds");
    double vmax = 0;
    for (int i = 0; i < ve.length; i++) {
      vmax = Math.max(vmax, Math.abs(ve[i] - vg[i]));
    }
    assertTrue(vmax <= 1e-4, "vision_embeds max |diff| " + vmax);

    // No tokenizer files: EOS comes from llm_config (992 = <|im_end|>), pad from its bos (990 = <|endoftext|>).
    Path gen = dir.resolve("gen.safetensors");
    r = ScoreCommandTest.run("generate", "--model", a.resolve("checkpoint").toString(), "--inputs",
        inputs.toString(), "--max-new-tokens", "8", "--greedy", "--img_context_token_id", "1014", "--out",
        gen.toString());
    assertEquals(0, r.rc(), r.err());
    assertArrayEquals(golden.longs("generated_ids"), SafeTensorsFile.open(gen).longs("generated_ids"));

    // Without the <IMG_CONTEXT> id the run stops with a one-line cause naming the flag.
    r = ScoreCommandTest.run("forward", "--model", a.resolve("checkpoint").toString(), "--inputs", inputs.toString(),
        "--out", fwd.toString());
    assertTrue(r.rc() != 0 && r.err().contains("--img_context_token_id"), r.err());
  }

  /** A one-layer tiny InternVL checkpoint written by init-tiny into {@code dir}/tiny. */
  private static Path tinyInternVl(Path dir) {
    Path ckpt = dir.resolve("tiny");
    ScoreCommandTest.Run r = ScoreCommandTest.run("init-tiny", "--family", "internvl_chat", "--out", ckpt.toString(),
        "--hidden_size", "32", "--num_layers", "1");
    assertEquals(0, r.rc(), r.err());
    return ckpt;
  }

  @Test
  void initTinyThenPrepareWritesTheBatch(@TempDir Path dir) throws Exception {
    Path ckpt = tinyInternVl(dir);
    Path out = dir.resolve("prep.safetensors");
    ScoreCommandTest.Run r = ScoreCommandTest.run("prepare", "--model", ckpt.toString(), "--image",
        caseA().resolve("image_1_300x200.png").toString(), "--text", "Where is the red box?", "--task_type", "rec",
        "--max_anyres_num", "2", "--out", out.toString());
    assertEquals(0, r.rc(), r.err());
    SafeTensorsFile f = SafeTensorsFile.open(out);
    // 300x200 with at most 2 tiles: the (2, 1) grid plus a thumbnail = 3 tiles of 56 px, 4 tokens each.
    assertArrayEquals(new long[] {3, 3, 56, 56}, f.entry("pixel_values").shape());
    assertArrayEquals(new long[] {1, 1, 1}, f.longs("image_flags"));
    long ctx = java.util.Arrays.stream(f.longs("input_ids")).filter(x -> x == 151667).count();
    assertEquals(12, ctx);
  }

  /**
   * Old code: Qwen-shaped (patches, 1176) pixel_values given to an InternVL checkpoint (a batch prepared for the
   * other family) failed with libtorch's "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
   * naming neither the tensor nor the shape InternVL needs.
   */
  @Test
  void pixelValuesOfTheOtherFamilyAreNamed(@TempDir Path dir) throws Exception {
    long seed = System.nanoTime();
    System.out.println("InternVlCommandsTest seed " + seed);
    Path ckpt = tinyInternVl(dir);
    Path prepared = dir.resolve("prep.safetensors");
    ScoreCommandTest.Run r = ScoreCommandTest.run("prepare", "--model", ckpt.toString(), "--image",
        caseA().resolve("image_1_300x200.png").toString(), "--text", "Where?", "--max_anyres_num", "2",
        "--out", prepared.toString());
    assertEquals(0, r.rc(), r.err());
    long patches = 4 * (1 + new java.util.Random(seed).nextInt(8));
    Path qwenShaped = dir.resolve("qwen-shaped.safetensors");
    try (PointerScope s = new PointerScope()) {
      Map<String, Tensor> t = TinyFixture.textOf(prepared);
      org.bytedeco.pytorch.global.torch.manual_seed(seed);
      t.put("pixel_values", org.bytedeco.pytorch.global.torch.randn(patches, 1176));
      SafeTensorsWriter.write(qwenShaped, t);
    }
    r = ScoreCommandTest.run("forward", "--model", ckpt.toString(), "--inputs", qwenShaped.toString(), "--out",
        dir.resolve("fwd.safetensors").toString());
    assertEquals(1, r.rc(), r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    assertTrue(r.err().contains("pixel_values must be (tiles, 3, S, S) with S a multiple of 14, got [" + patches
        + ", 1176]"), r.err());
  }
}
