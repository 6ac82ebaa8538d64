// The strict config reader: a value of the wrong type names the file, the key (with its parent objects) and the
// value given, where Jackson's asInt / asLong would have read 0; a file that is not JSON names its line and column.
package org.vlmr1.util;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonConfigTest {
  private static JsonConfig config(Path dir, String json) throws IOException {
    Path f = dir.resolve("config.json");
    Files.writeString(f, json);
    return JsonConfig.read(f);
  }

  @Test
  void readsTypedValuesAndDefaults(@TempDir Path dir) throws IOException {
    JsonConfig c = config(dir, "{\"hidden_size\": 64, \"eps\": 1e-6, \"ratio\": 4, \"tie\": true, \"kv\": null,"
        + " \"t\": \"x\", \"sec\": [1, 2, 3], \"vision_config\": {\"depth\": 2}}");
    assertEquals(64, c.requireInt("hidden_size"));
    assertEquals(64L, c.requireLong("hidden_size"));
    assertEquals(1e-6, c.getDouble("eps", 0));
    assertEquals(4.0, c.getDouble("ratio", 0), "an integer reads as a float, as Python's float() does");
    assertTrue(c.getBoolean("tie", false));
    assertEquals(7, c.getInt("kv", 7), "null is absent (transformers' None)");
    assertEquals("x", c.getText("t", "d"));
    assertArrayEquals(new int[] {1, 2, 3}, c.getIntArray("sec"));
    assertEquals(2, c.child("vision_config").requireInt("depth"));
    assertFalse(c.child("text_config").has("depth"));
  }

  /** Old code: Jackson's asLong gave 0 for "sixty-four", failing later with "head_dim/2 = 0". */
  @Test
  void wrongTypesNameTheFileKeyAndValue(@TempDir Path dir) throws IOException {
    JsonConfig c = config(dir, "{\"hidden_size\": \"sixty-four\", \"vision_config\": {\"depth\": 2.5, \"qkv\": 1},"
        + " \"big\": 99999999999, \"sec\": [1, \"2\"]}");
    String file = dir.resolve("config.json").toString();
    IOException e = assertThrows(IOException.class, () -> c.requireLong("hidden_size"));
    assertEquals(file + ": hidden_size must be an integer, got \"sixty-four\"", e.getMessage());
    e = assertThrows(IOException.class, () -> c.child("vision_config").requireInt("depth"));
    assertEquals(file + ": vision_config.depth must be an integer, got 2.5", e.getMessage());
    e = assertThrows(IOException.class, () -> c.child("vision_config").getBoolean("qkv", true));
    assertTrue(e.getMessage().contains("vision_config.qkv must be true or false, got 1"), e.getMessage());
    e = assertThrows(IOException.class, () -> c.requireInt("big"));
    assertTrue(e.getMessage().contains("big must be an integer, got 99999999999"), e.getMessage());
    e = assertThrows(IOException.class, () -> c.getIntArray("sec"));
    assertTrue(e.getMessage().contains("sec[1] must be an integer, got \"2\""), e.getMessage());
    e = assertThrows(IOException.class, () -> c.requireInt("missing_key"));
    assertEquals(file + ": missing_key is missing", e.getMessage());
    e = assertThrows(IOException.class, () -> c.child("hidden_size"));
    assertTrue(e.getMessage().contains("hidden_size must be an object"), e.getMessage());
  }

  @Test
  void notJsonNamesTheFileLineAndColumn(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("config.json");
    Files.writeString(f, "{\n  \"a\": 1,\n  oops\n}");
    IOException e = assertThrows(IOException.class, () -> JsonConfig.read(f));
    assertTrue(e.getMessage().startsWith(f + " is not valid JSON (line 3, column"), e.getMessage());
    Files.write(f, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
    e = assertThrows(IOException.class, () -> JsonConfig.read(f));
    assertTrue(e.getMessage().startsWith(f + " is not valid JSON"), e.getMessage());
    Files.writeString(f, "");
    e = assertThrows(IOException.class, () -> JsonConfig.read(f));
    assertEquals(f + " is empty, not JSON", e.getMessage());
    Files.writeString(f, "[1, 2]");
    e = assertThrows(IOException.class, () -> JsonConfig.read(f));
    assertEquals(f + ": expected a JSON object, got [1,2]", e.getMessage());
    e = assertThrows(IOException.class, () -> JsonConfig.read(dir));
    assertTrue(e.getMessage().contains("is a folder"), e.getMessage());
  }
}
