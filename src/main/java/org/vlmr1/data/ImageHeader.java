// The validation-time check of an image file, without decoding it: a format ImageIO reads, a header that gives a
// width and height of at least 1, and for PNG a chunk chain that reaches IEND inside the file (a truncated copy or
// download ends early). Corruption inside the compressed pixel data still shows only when the image is decoded.
package org.vlmr1.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/** Header checks of image files. Thread-safe (each call opens its own reader). */
final class ImageHeader {
  private ImageHeader() {}

  /**
   * The most pixels an image may have: above 2 x Image.MAX_IMAGE_PIXELS (89,478,485 by default) Pillow's open raises
   * DecompressionBombError, and here a file of a few KB could otherwise pass and exhaust the heap when decoded.
   */
  static final long MAX_PIXELS = 2L * 89_478_485;

  /**
   * What a header says.
   *
   * @param format ImageIO's format name, lower case ("png", "jpeg", ...)
   */
  record Info(String format, int width, int height) {}

  /** Reads {@code path}'s header; the IOException says what is wrong with the file (not naming it). */
  static Info check(Path path) throws IOException {
    long size = Files.size(path);
    if (size == 0) {
      throw new IOException("empty file");
    }
    Info info;
    try (ImageInputStream in = ImageIO.createImageInputStream(path.toFile())) {
      if (in == null) {
        throw new IOException("cannot be opened");
      }
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new IOException("not an image format this build reads (PNG, JPEG, BMP, GIF, TIFF)");
      }
      ImageReader r = readers.next();
      try {
        r.setInput(in, true, true);
        info = new Info(r.getFormatName().toLowerCase(Locale.ROOT), r.getWidth(0), r.getHeight(0));
      } catch (IOException | RuntimeException e) {
        // ImageIO's readers throw unchecked exceptions on some malformed headers too.
        throw new IOException("unreadable " + r.getFormatName() + " header: " + e.getMessage(), e);
      } finally {
        r.dispose();
      }
    }
    if (info.width() < 1 || info.height() < 1) {
      throw new IOException("the " + info.format() + " header gives a size of " + info.width() + "x" + info.height());
    }
    checkPixels(info.width(), info.height());
    if (info.format().equals("png")) {
      checkPngChunks(path, size);
    }
    return info;
  }

  /** Rejects sizes above {@link #MAX_PIXELS}, as Pillow does, naming the size and the limit. */
  static void checkPixels(long width, long height) throws IOException {
    if (width * height > MAX_PIXELS) {
      throw new IOException("the header gives " + width + "x" + height + " = " + width * height + " pixels, above "
          + "Pillow's decompression-bomb limit of " + MAX_PIXELS + " (2 x Image.MAX_IMAGE_PIXELS); VLM-R1 cannot "
          + "open it either");
    }
  }

  /** Walks the chunk headers (8 bytes each, no data read) from the signature to IEND. */
  private static void checkPngChunks(Path path, long size) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8);
    try (FileChannel ch = FileChannel.open(path)) {
      long pos = 8; // after the signature
      while (true) {
        if (pos + 12 > size) {
          throw new IOException("truncated PNG: the file ends at byte " + size + " before its IEND chunk");
        }
        b.clear();
        readFully(ch, b, pos);
        long length = Integer.toUnsignedLong(b.getInt(0));
        String type = new String(b.array(), 4, 4, StandardCharsets.ISO_8859_1);
        long end = pos + 12 + length; // length, type, data, CRC
        if (end > size) {
          throw new IOException("truncated PNG: chunk " + type + " at byte " + pos + " needs " + (end - pos)
              + " bytes but the file ends at byte " + size);
        }
        if (type.equals("IEND")) {
          return;
        }
        pos = end;
      }
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      if (ch.read(b, pos + b.position()) < 0) {
        throw new IOException("truncated PNG: the file ends inside the chunk header at byte " + pos);
      }
    }
  }
}
