// JPEG decoding against Pillow 9.4 (libjpeg-turbo 2.1.5): every case in golden/jpeg (the shared cases: subsampling,
// progressive, restart intervals, grey, CMYK) and golden/jpeg_cmyk (CMYK and YCCK, with and without the Adobe marker)
// must decode to Image.open(path).convert("RGB") bit for bit.
package org.vlmr1.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vlmr1.model.SafeTensorsFile;

class JpegGoldenTest {
  static Path folder(String name) throws Exception {
    return Path.of(JpegGoldenTest.class.getResource("/golden/" + name + "/cases.json").toURI()).getParent();
  }

  @Test
  void sharedCasesMatchPillow() throws Exception {
    checkAll(folder("jpeg"));
  }

  @Test
  void fourChannelCasesMatchPillow() throws Exception {
    checkAll(folder("jpeg_cmyk"));
  }

  @Test
  void cmykToRgbIsPillowsForEveryPair() throws Exception {
    byte[] table = SafeTensorsFile.open(folder("jpeg_cmyk").resolve("cmyk2rgb.safetensors")).u8("cmyk2rgb");
    for (int v = 0; v < 256; v++) {
      for (int k = 0; k < 256; k++) {
        assertEquals(table[v * 256 + k] & 0xff, FourChannelJpeg.cmykToRgb(v, k), "C=" + v + " K=" + k);
      }
    }
  }

  private static void checkAll(Path dir) throws Exception {
    JsonNode cases = new ObjectMapper().readTree(dir.resolve("cases.json").toFile()).path("cases");
    SafeTensorsFile golden = SafeTensorsFile.open(dir.resolve("decoded.safetensors"));
    List<String> failures = new ArrayList<>();
    Iterator<Map.Entry<String, JsonNode>> it = cases.fields();
    assertTrue(it.hasNext(), "no cases in " + dir);
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> c = it.next();
      String why = compare(RgbImage.read(dir.resolve(c.getValue().path("file").asText())), golden, c.getKey());
      if (why != null) {
        failures.add(c.getKey() + " (" + c.getValue().path("mode").asText() + "): " + why);
      }
    }
    if (!failures.isEmpty()) {
      fail(failures.size() + " of " + cases.size() + " cases differ from Pillow:\n" + String.join("\n", failures));
    }
  }

  /** Null when equal, else the size mismatch or the max difference and first mismatch. */
  private static String compare(RgbImage img, SafeTensorsFile golden, String name) throws Exception {
    long[] shape = golden.entry(name).shape();
    if (shape[0] != img.height() || shape[1] != img.width()) {
      return "decoded " + img.width() + "x" + img.height() + ", expected " + shape[1] + "x" + shape[0];
    }
    byte[] want = golden.u8(name);
    int maxDiff = 0;
    int first = -1;
    for (int i = 0; i < want.length; i++) {
      int d = Math.abs((want[i] & 0xff) - (img.hwc()[i] & 0xff));
      if (d > 0 && first < 0) {
        first = i;
      }
      maxDiff = Math.max(maxDiff, d);
    }
    if (first < 0) {
      return null;
    }
    int px = first / 3;
    return "max |diff| " + maxDiff + ", first at x=" + px % img.width() + " y=" + px / img.width() + " channel "
        + first % 3 + ": got " + (img.hwc()[first] & 0xff) + ", Pillow " + (want[first] & 0xff);
  }
}
