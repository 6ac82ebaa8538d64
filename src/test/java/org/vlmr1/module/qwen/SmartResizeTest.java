// smart_resize against transformers 4.50's results (../shared/golden/smart_resize.json, copied into test resources).
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vlmr1.util.Json;

class SmartResizeTest {

  @Test
  @SuppressWarnings("unchecked")
  void matchesTransformersOnEveryGoldenCase() throws Exception {
    String text;
    try (InputStream in = SmartResizeTest.class.getResourceAsStream("/golden/smart_resize.json")) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    List<Map<String, Object>> cases = (List<Map<String, Object>>) ((Map<String, Object>) Json.parse(text)).get("cases");
    assertEquals(20, cases.size());
    for (Map<String, Object> c : cases) {
      int h = ((Number) c.get("height")).intValue();
      int w = ((Number) c.get("width")).intValue();
      int f = ((Number) c.get("factor")).intValue();
      long min = ((Number) c.get("min_pixels")).longValue();
      long max = ((Number) c.get("max_pixels")).longValue();
      String note = h + "x" + w + " (" + c.get("note") + ")";
      if (c.get("error") != null) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> SmartResize.compute(h, w, f, min, max), note);
        assertEquals(c.get("error"), e.getMessage(), note);
      } else {
        SmartResize.Size s = SmartResize.compute(h, w, f, min, max);
        assertEquals(((Number) c.get("resized_height")).intValue(), s.height(), note);
        assertEquals(((Number) c.get("resized_width")).intValue(), s.width(), note);
      }
    }
  }

  @Test
  void documentedExamples() {
    // ARCHITECTURES.md A3: 640x480 (W x H) -> 476 x 644; 1280x1024 -> 1036 x 1288 (VLM-R1's pixel limits).
    assertEquals(new SmartResize.Size(476, 644), SmartResize.compute(480, 640, 28, 3136, 12845056));
    assertEquals(new SmartResize.Size(1036, 1288), SmartResize.compute(1024, 1280, 28, 3136, 12845056));
    assertThrows(IllegalArgumentException.class, () -> SmartResize.compute(28, 5601, 28, 3136, 12845056));
  }
}
