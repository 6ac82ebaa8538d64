// init-tiny reaches the families through the registry: --family is any registered model_type, a family's own options
// (InternVL's --image_size) are refused for another family (the old command ignored them), unknown types list the
// known ones.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitTinyCommandTest {
  @Test
  void familiesComeFromTheRegistry(@TempDir Path dir) throws Exception {
    ScoreCommandTest.Run ok = ScoreCommandTest.run("init-tiny", "--family", "qwen2_vl", "--out",
        dir.resolve("q").toString(), "--hidden_size", "32", "--num_layers", "1", "--vision_depth", "1");
    assertEquals(0, ok.rc(), ok.err());
    assertTrue(Files.readString(dir.resolve("q/config.json")).contains("\"qwen2_vl\""));
    ScoreCommandTest.Run other = ScoreCommandTest.run("init-tiny", "--family", "qwen2_5_vl", "--out",
        dir.resolve("x").toString(), "--image_size", "56");
    assertEquals(2, other.rc(), other.err());
    assertTrue(other.err().contains("--image_size is not an init-tiny option of qwen2_5_vl"), other.err());
    ScoreCommandTest.Run unknown = ScoreCommandTest.run("init-tiny", "--family", "llava", "--out",
        dir.resolve("y").toString());
    assertEquals(2, unknown.rc(), unknown.err());
    assertTrue(unknown.err().contains("internvl_chat") && unknown.err().contains("qwen2_5_vl"), unknown.err());
    ScoreCommandTest.Run help = ScoreCommandTest.run("init-tiny", "--help");
    assertTrue(help.out().contains("--max_dynamic_patch") && help.out().contains("internvl_chat: most tiles"),
        help.out());
  }

  /** Old code: --like was an unknown flag; now unknown presets and changed widths are refused before any write. */
  @Test
  void likeRefusesUnknownPresetsAndChangedWidths(@TempDir Path dir) throws Exception {
    ScoreCommandTest.Run unknown = ScoreCommandTest.run("init-tiny", "--like", "qwen2_5_vl_72b", "--out",
        dir.resolve("a").toString());
    assertEquals(2, unknown.rc(), unknown.err());
    assertTrue(unknown.err().contains("--like qwen2_5_vl_72b is unknown; known: qwen2_5_vl_3b"), unknown.err());
    ScoreCommandTest.Run wider = ScoreCommandTest.run("init-tiny", "--like", "qwen2_5_vl_3b", "--hidden_size", "32",
        "--out", dir.resolve("b").toString());
    assertEquals(2, wider.rc(), wider.err());
    assertTrue(wider.err().contains("keeps the model's widths"), wider.err());
    assertTrue(!Files.exists(dir.resolve("b/model.safetensors")), "nothing written");
    ScoreCommandTest.Run qwen2 = ScoreCommandTest.run("init-tiny", "--like", "qwen2_5_vl_3b", "--family", "qwen2_vl",
        "--out", dir.resolve("c").toString());
    assertEquals(2, qwen2.rc(), qwen2.err());
    assertTrue(qwen2.err().contains("not a qwen2_vl preset"), qwen2.err());
  }

  /** Old code: --like was unknown. The 3B-wide, 2-layer, 1-vision-block checkpoint (~0.9 GB) from the command line. */
  @Test
  @org.junit.jupiter.api.Tag("slow")
  void likeWritesThreeBWidthsWithFewerLayers(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("q3b");
    ScoreCommandTest.Run r = ScoreCommandTest.run("init-tiny", "--like", "qwen2_5_vl_3b", "--num_layers", "2",
        "--vision_depth", "1", "--out", out.toString());
    assertEquals(0, r.rc(), r.err());
    String cfg = Files.readString(out.resolve("config.json"));
    assertTrue(cfg.contains("\"num_hidden_layers\" : 2") && cfg.contains("\"hidden_size\" : 2048")
        && cfg.contains("\"intermediate_size\" : 3420") && cfg.contains("\"torch_dtype\" : \"bfloat16\""), cfg);
    org.vlmr1.model.SafeTensorsFile st = org.vlmr1.model.SafeTensorsFile.open(out.resolve("model.safetensors"));
    assertEquals("[151936, 2048]", java.util.Arrays.toString(st.entry("model.embed_tokens.weight").shape()));
    assertEquals("BF16", st.entry("model.layers.1.mlp.down_proj.weight").dtype());
  }
}
