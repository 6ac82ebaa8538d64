// The Qwen2.5-VL tokenizer shipped with the tests (gzipped), loaded offline through DJL.
package org.vlmr1.module;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class HfTokenizerTest {

  /** Unpacks the test copy of the Qwen2.5-VL tokenizer.json into {@code dir}; returns its path. */
  public static Path qwenTokenizer(Path dir) {
    Path out = dir.resolve("tokenizer.json");
    try (InputStream in = new GZIPInputStream(HfTokenizerTest.class.getResourceAsStream(
        "/org/vlmr1/assets/qwen2_5-vl-tokenizer/tokenizer.json.gz"))) {
      Files.copy(in, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  @Test
  void encodesTheQwenChatTemplateWithSingleSpecialTokens(@TempDir Path dir) {
    try (HfTokenizer tok = HfTokenizer.load(qwenTokenizer(dir).getParent())) {
      String text = "<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|vision_end|>Describe this image. "
          + "你好！<|im_end|>\n<|im_start|>assistant\n";
      long[] ids = tok.encode(text);
      assertArrayEquals(new long[] {151644, 872, 198, 151652, 151655, 151655, 151653, 74785, 419, 2168, 13, 220,
          108386, 6313, 151645, 198, 151644, 77091, 198}, ids);
      assertEquals(text, tok.decode(ids, false));
      assertEquals("user\nDescribe this image. 你好！\nassistant\n", tok.decode(ids, true));
      assertTrue(tok.count("<think>") > 1, "<think> is ordinary text in Qwen2.5-VL's tokenizer");
      assertEquals(3000, tok.count("<|image_pad|>".repeat(3000)), "no truncation at 512 tokens");
    }
    assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(dir.resolve("missing")));
  }
}
