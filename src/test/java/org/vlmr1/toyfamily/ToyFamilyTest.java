// The toy family from inside: its processing keyword reaches its processor (image tokens per image follow
// toy_image_side), and its code imports only the contract (org.vlmr1.module), the shared model parts
// (org.vlmr1.model) and the contract's image type (org.vlmr1.data.RgbImage).
package org.vlmr1.toyfamily;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.RgbImage;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModules;

class ToyFamilyTest {
  @Test
  void theProcessingKeywordReachesTheProcessor(@TempDir Path dir) throws Exception {
    Path toy = dir.resolve("toy");
    org.vlmr1.cli.ThirdFamilyTestAccess.writeToy(toy, 1);
    for (int side : new int[] {16, 24}) {
      ToyVlModule m = (ToyVlModule) VlmModules.forCheckpoint(toy, null, side == 16 ? ModuleOptions.DEFAULTS
          : ModuleOptions.DEFAULTS.withProcessing("toy_image_side", side));
      assertEquals(side, m.side());
      RgbImage img = new RgbImage(10, 6, new byte[10 * 6 * 3]);
      try (PointerScope s = new PointerScope()) {
        ModelInputs in = m.prepareModelInputs(m.preparePrompt(List.of(Conversation.userTurn(1, "where?"))),
            List.of(List.of(img)));
        long tokens = in.inputIds().eq(new Scalar(151655)).sum().item_long();
        assertEquals((side / 8) * (side / 8), tokens, "image tokens for side " + side);
        assertEquals(tokens, in.multimodal().get("pixel_values").size(0));
      }
    }
  }

  @Test
  void importsOnlyTheContractAndTheSharedModel() throws Exception {
    Pattern ref = Pattern.compile("\\borg\\.vlmr1\\.([a-z.]+)\\.([A-Z]\\w*)");
    try (Stream<Path> s = Files.list(Path.of("src/test/java/org/vlmr1/toyfamily"))) {
      for (Path f : s.filter(p -> p.getFileName().toString().startsWith("ToyVl")).toList()) {
        Matcher m = ref.matcher(Files.readString(f));
        while (m.find()) {
          String pkg = m.group(1);
          // util is the bottom layer (JSON, text helpers) that every family may use, as the real ones do
          assertTrue(pkg.equals("module") || pkg.equals("model") || pkg.equals("toyfamily") || pkg.equals("util")
              || (pkg.equals("data") && m.group(2).equals("RgbImage")), f.getFileName() + " uses " + m.group());
        }
      }
    }
  }
}
