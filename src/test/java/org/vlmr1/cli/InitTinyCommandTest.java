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
}
