// Safetensors headers that the old reader accepted and gave the loaders wrong shapes for: a shape whose element
// count overflows a long (wrapping to a size that matched the byte range), shapes that are not lists of integers,
// headers and entries that are not objects, and overlapping byte ranges. Each must be an IOException naming the file.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsHostileHeaderTest {
  @TempDir
  Path dir;

  /** A file of the given header text and {@code dataBytes} random data bytes. */
  private Path file(String header, int dataBytes, long seed) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    byte[] data = new byte[dataBytes];
    new Random(seed).nextBytes(data);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h).put(data);
    Path p = dir.resolve("t" + System.nanoTime() + ".safetensors");
    Files.write(p, b.array());
    return p;
  }

  private void assertRefused(String header, int dataBytes, String part) throws IOException {
    long seed = System.nanoTime();
    Path p = file(header, dataBytes, seed);
    IOException e = assertThrows(IOException.class, () -> SafeTensorsFile.open(p), header + " (seed " + seed + ")");
    assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
    assertTrue(e.getMessage().contains(part), "'" + part + "' in " + e.getMessage());
  }

  /** Old code: opened; [2^62, 4] F32 wrapped to 0 elements and matched the empty range, [2^62, 2^62] too. */
  @Test
  void shapesWhoseSizeOverflowsAreRefused() throws IOException {
    assertRefused("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}", 0,
        "overflows 64 bits");
    assertRefused("{\"a\":{\"dtype\":\"I8\",\"shape\":[4611686018427387904,4611686018427387904],"
        + "\"data_offsets\":[0,0]}}", 0, "overflows 64 bits");
  }

  /** Old code: opened; 7 read as a scalar shape [], [1.5] as [1], ["4"] as [4], a 2^64 size as 0. */
  @Test
  void shapesThatAreNotListsOfIntegersAreRefused() throws IOException {
    assertRefused("{\"a\":{\"dtype\":\"F32\",\"shape\":7,\"data_offsets\":[0,4]}}", 4, "bad shape 7");
    assertRefused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "bad shape [1.5]");
    assertRefused("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "bad shape");
    assertRefused("{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,0]}}", 0,
        "bad shape");
    assertRefused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",\"4\"]}}", 4, "data_offsets");
  }

  /** Old code: a list or null header opened as a file with no tensors; an entry 5 read as dtype ''. */
  @Test
  void headersAndEntriesMustBeObjects() throws IOException {
    assertRefused("[1,2,3]", 0, "header must be a JSON object, got [1,2,3]");
    assertRefused("null", 0, "header must be a JSON object");
    assertRefused("{\"a\":5}", 0, "tensor a must be a JSON object");
  }

  /** Old code: a __metadata__ that is not a string-to-string map was skipped unread (the format allows only that). */
  @Test
  void metadataMustBeAnObjectOfStrings() throws IOException {
    assertRefused("{\"__metadata__\":[1]}", 0, "__metadata__ must be a JSON object of strings, got [1]");
    assertRefused("{\"__metadata__\":{\"format\":7}}", 0, "__metadata__ must be a JSON object of strings");
    assertRefused("{\"__metadata__\":\"pt\"}", 0, "__metadata__ must be a JSON object of strings");
  }

  /** Old code: opened, both tensors reading the same bytes. */
  @Test
  void overlappingRangesAreRefused() throws IOException {
    assertRefused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap");
  }

  /** What stays accepted: empty tensors anywhere, metadata, ranges in any order. */
  @Test
  void wellFormedHeadersStillOpen() throws IOException {
    Path p = file("{\"__metadata__\":{\"format\":\"pt\"},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
        + "\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
        + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]}}", 16, 1);
    SafeTensorsFile f = SafeTensorsFile.open(p);
    assertEquals(3, f.entries().size());
    assertEquals(0, f.entry("e").numel());
  }
}
