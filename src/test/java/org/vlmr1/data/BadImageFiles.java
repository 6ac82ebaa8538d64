// Image files for the bad-data tests: real PNGs, and PNGs whose header and chunk chain are intact but whose pixel
// data is not (they pass validation's header check and fail only when decoded).
package org.vlmr1.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;

/** Writes test images. */
public final class BadImageFiles {
  private BadImageFiles() {}

  /** A w x h PNG of random pixels (so its compressed data is not trivial). */
  public static byte[] pngBytes(int w, int h, long seed) throws Exception {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    java.util.Random rnd = new java.util.Random(seed);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.setRGB(x, y, rnd.nextInt());
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }

  public static void png(Path p, int w, int h) throws Exception {
    Files.write(p, pngBytes(w, h, 1));
  }

  /**
   * A PNG whose IHDR says w x h (8-bit RGB) followed by one small IDAT and IEND, every CRC right: a header that
   * claims any size without the pixels (a decompression bomb's header). Its pixel data does not decode.
   */
  public static void pngHeader(Path p, int w, int h) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).array());
    chunk(out, "IDAT", new byte[] {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}); // zlib of nothing
    chunk(out, "IEND", new byte[0]);
    Files.write(p, out.toByteArray());
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
    byte[] t = type.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    out.writeBytes(t);
    out.writeBytes(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }

  /**
   * A PNG whose header and chunk chain are intact (every CRC right) but whose first IDAT holds no zlib stream: it
   * passes the validation's header check and fails only when decoded.
   */
  public static void pngWithCorruptData(Path p, int w, int h) throws Exception {
    byte[] b = pngBytes(w, h, 2);
    ByteBuffer buf = ByteBuffer.wrap(b);
    int pos = 8;
    while (true) {
      int len = buf.getInt(pos);
      String type = new String(b, pos + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
      if (type.equals("IDAT")) {
        Arrays.fill(b, pos + 8, pos + 8 + Math.min(len, 16), (byte) 0xFF); // not a zlib header
        CRC32 crc = new CRC32();
        crc.update(b, pos + 4, 4 + len);
        buf.putInt(pos + 8 + len, (int) crc.getValue());
        break;
      }
      pos += 12 + len;
    }
    Files.write(p, b);
  }
}
