// bin/vlmr1 prepare end to end on the golden checkpoint with the real tokenizer: the written safetensors hold the
// tensors under VLM-R1's names, pixel values equal to transformers' for that image.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.module.HfTokenizerTest;

class PrepareCommandTest {

  static Path caseA() throws Exception {
    return Path.of(PrepareCommandTest.class.getResource("/golden/qwen2_5_vl/case_a/README.md").toURI()).getParent();
  }

  @Test
  void writesTheBatchTensors(@TempDir Path dir) throws Exception {
    Path tok = HfTokenizerTest.qwenTokenizer(dir);
    Path out = dir.resolve("in.safetensors");
    ScoreCommandTest.Run r = ScoreCommandTest.run("prepare", "--model", caseA().resolve("checkpoint").toString(),
        "--tokenizer", tok.toString(), "--image", caseA().resolve("image_1_300x200.png").toString(),
        "--text", "the lady with the blue shirt", "--task_type", "rec", "--max_pixels", "12544", "--out",
        out.toString(), "--print_prompt");
    assertEquals(0, r.rc(), r.err());
    assertTrue(r.out().contains("<|vision_start|><|image_pad|><|vision_end|>the lady with the blue shirt First output"),
        r.out());
    SafeTensorsFile f = SafeTensorsFile.open(out);
    assertEquals(Set.of("input_ids", "attention_mask", "pixel_values", "image_grid_thw"), f.entries().keySet());
    assertEquals("I64", f.entry("input_ids").dtype());
    assertArrayEquals(new long[] {1, 6, 8}, f.longs("image_grid_thw"));
    long pads = 0;
    for (long id : f.longs("input_ids")) {
      pads += id == 151655 ? 1 : 0;
    }
    assertEquals(12, pads);
    // The golden pixel_values: image_order [0, 1, 2], image 0 is 24 rows, image 1 the next 48.
    SafeTensorsFile golden = SafeTensorsFile.open(caseA().resolve("golden.safetensors"));
    float[] want = golden.floats("pixel_values");
    float[] got = f.floats("pixel_values");
    assertEquals(48 * 1176, got.length);
    double max = 0;
    for (int k = 0; k < got.length; k++) {
      max = Math.max(max, Math.abs(got[k] - want[24 * 1176 + k]));
    }
    assertTrue(max <= 1e-6, "max |diff| " + max);
  }
}
