// 4-channel JPEGs (CMYK and YCCK) decoded as VLM-R1's Image.open(path).convert("RGB") sees them with Pillow 9.4 and
// libjpeg-turbo 2.1.5: libjpeg's colour space choice, Pillow's inverted-CMYK reading, then Pillow's cmyk2rgb.
package org.vlmr1.data;

import java.awt.image.Raster;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * ImageIO alone cannot be trusted with these files: its JPEG reader second-guesses libjpeg's colour space (it calls a
 * marker-less CMYK file with subsampled second and third channels YCCK, and refuses an Adobe transform other than 0
 * or 2 that libjpeg decodes as YCCK), so the samples are read raw with {@link ImageReader#readRaster} and converted
 * here as libjpeg-turbo's {@code default_decompress_parms} and {@code ycck_cmyk_convert} would.
 */
final class FourChannelJpeg {
  private FourChannelJpeg() {}

  /**
   * What the markers before the first scan say.
   *
   * @param components the frame's component count (from its SOF marker)
   * @param adobeTransform the last Adobe APP14 marker's transform byte, or -1 without one
   */
  record Header(int components, int adobeTransform) {
    /** libjpeg-turbo 2.1's rule for 4 components: YCCK unless an Adobe marker says 0 or there is no Adobe marker. */
    boolean ycck() {
      return adobeTransform >= 0 && adobeTransform != 0;
    }
  }

  /** The header of a JPEG file, or null when the file is not a JPEG (or has no frame before its first scan). */
  static Header header(Path path) throws IOException {
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(path)))) {
      return header(in);
    } catch (EOFException e) {
      return null; // truncated: let ImageIO report it
    }
  }

  private static Header header(DataInputStream in) throws IOException {
    if (in.readUnsignedByte() != 0xFF || in.readUnsignedByte() != 0xD8) {
      return null;
    }
    int components = -1;
    int adobe = -1;
    while (true) {
      int b = in.readUnsignedByte();
      if (b != 0xFF) {
        return null; // not at a marker: malformed, ImageIO will say so
      }
      int marker = in.readUnsignedByte();
      while (marker == 0xFF) { // fill bytes
        marker = in.readUnsignedByte();
      }
      if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
        continue; // no length field
      }
      if (marker == 0xDA || marker == 0xD9) {
        return components < 0 ? null : new Header(components, adobe);
      }
      int len = in.readUnsignedShort() - 2;
      if (len < 0) {
        return null;
      }
      byte[] data = in.readNBytes(len);
      if (data.length < len) {
        return null;
      }
      if (isSof(marker) && len >= 6) {
        components = data[5] & 0xff;
      } else if (marker == 0xEE && len >= 12 && data[0] == 'A' && data[1] == 'd' && data[2] == 'o' && data[3] == 'b'
          && data[4] == 'e') {
        adobe = data[11] & 0xff; // libjpeg's examine_app14 needs the 12 bytes and reads byte 11
      }
    }
  }

  /** SOF0-SOF15 less DHT (C4), JPG (C8) and DAC (CC). */
  private static boolean isSof(int marker) {
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
  }

  /** Decodes a file whose {@link #header} has 4 components. */
  static RgbImage read(Path path, Header header) throws IOException {
    Raster raster;
    try (InputStream file = Files.newInputStream(path);
        ImageInputStream in = ImageIO.createImageInputStream(file)) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new IOException("no JPEG reader for " + path);
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in);
        // readRaster asks libjpeg for the stored colour space, so it returns the upsampled samples unconverted
        raster = reader.readRaster(0, null);
      } finally {
        reader.dispose();
      }
    }
    if (raster.getNumBands() != 4) {
      throw new IOException(path + ": expected 4 channels, the JPEG reader gave " + raster.getNumBands());
    }
    int w = raster.getWidth();
    int h = raster.getHeight();
    byte[] out = new byte[RgbImage.bytes(w, h)];
    int[] px = new int[4];
    int[] cmy = new int[3];
    boolean ycck = header.ycck();
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        raster.getPixel(x, y, px);
        pillowCmy(px, ycck, cmy);
        int k = 255 - px[3]; // Pillow reads CMYK JPEGs as "CMYK;I": every channel inverted, K included
        int o = (y * w + x) * 3;
        for (int c = 0; c < 3; c++) {
          out[o + c] = (byte) cmykToRgb(cmy[c], k);
        }
      }
    }
    return new RgbImage(w, h, out);
  }

  // libjpeg's YCC -> RGB tables (jdcolor.c build_ycc_rgb_table, 16-bit fixed point)
  private static final int SCALEBITS = 16;
  private static final int ONE_HALF = 1 << (SCALEBITS - 1);
  private static final int[] CR_R = new int[256];
  private static final int[] CB_B = new int[256];
  private static final int[] CR_G = new int[256];
  private static final int[] CB_G = new int[256];

  static {
    for (int i = 0; i < 256; i++) {
      int x = i - 128;
      CR_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALEBITS;
      CB_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALEBITS;
      CR_G[i] = -fix(0.71414) * x;
      CB_G[i] = -fix(0.34414) * x + ONE_HALF;
    }
  }

  private static int fix(double v) {
    return (int) (v * (1 << SCALEBITS) + 0.5);
  }

  /**
   * C, M, Y as Pillow holds them. For CMYK libjpeg passes the samples through and Pillow inverts them; for YCCK
   * libjpeg stores {@code 255 - R} (clamped) and Pillow's inversion gives back R clamped to 0..255.
   */
  static void pillowCmy(int[] px, boolean ycck, int[] cmy) {
    if (!ycck) {
      for (int c = 0; c < 3; c++) {
        cmy[c] = 255 - px[c];
      }
      return;
    }
    int yy = px[0];
    int cb = px[1];
    int cr = px[2];
    cmy[0] = clamp(yy + CR_R[cr]);
    cmy[1] = clamp(yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS));
    cmy[2] = clamp(yy + CB_B[cb]);
  }

  private static int clamp(int v) {
    return v < 0 ? 0 : Math.min(v, 255);
  }

  /**
   * Pillow's cmyk2rgb (Convert.c, 9.4) for one channel: {@code nk - MULDIV255(v, nk)} with {@code nk = 255 - k}; the
   * result never leaves 0..255, so its CLIP8 changes nothing. Checked against Pillow 9.4 for every (v, k).
   */
  static int cmykToRgb(int v, int k) {
    int nk = 255 - k;
    int tmp = v * nk + 128;
    return nk - (((tmp >> 8) + tmp) >> 8);
  }
}
