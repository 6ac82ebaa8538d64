// An 8-bit RGB image in height x width x channel order, decoded the way the Hugging Face processors see images:
// PIL opens the file and convert_to_rgb alpha-composites every non-RGB mode onto white (transformers 4.50); CMYK and
// YCCK JPEGs become RGB as Image.open(path).convert("RGB") makes them (FourChannelJpeg).
package org.vlmr1.data;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.vlmr1.util.FileKinds;

/**
 * Immutable 8-bit RGB pixels, row-major HWC.
 *
 * @param width columns
 * @param height rows
 * @param hwc {@code height * width * 3} bytes (unsigned)
 */
public record RgbImage(int width, int height, byte[] hwc) {
  public RgbImage {
    if (width < 1 || height < 1 || hwc.length != (long) width * height * 3) {
      throw new IllegalArgumentException("an RGB image of " + width + "x" + height + " needs " + (long) width * height * 3
          + " bytes, got " + hwc.length);
    }
  }

  /** {@code w * h * 3}, the size of an image's pixels, refused where a Java array cannot hold it. */
  static int bytes(int w, int h) {
    long n = 3L * w * h;
    if (n > Integer.MAX_VALUE - 8) { // the JVM's largest array is a few elements short of Integer.MAX_VALUE
      throw new IllegalArgumentException("a " + w + "x" + h + " image needs " + n + " bytes of RGB, more than a Java "
          + "array holds");
    }
    return (int) n;
  }

  /** The unsigned value of channel {@code c} at ({@code x}, {@code y}). */
  public int get(int x, int y, int c) {
    return hwc[(y * width + x) * 3 + c] & 0xff;
  }

  /**
   * Decodes PNG, JPEG, BMP or GIF. RGB stays as stored; grey, grey+alpha, palette and RGBA images are converted to
   * RGBA and composited onto white with Pillow's integer alpha_composite (so opaque images are unchanged and PNGs
   * match Pillow bit for bit). 16-bit samples keep their high byte. 4-channel JPEGs (CMYK or YCCK, with or without
   * the Adobe marker) go through Pillow's inverted-CMYK reading and cmyk2rgb. Measured against Pillow 9.4 with
   * libjpeg-turbo 2.1.5 (test resources golden/jpeg and golden/jpeg_cmyk): 4:2:0, 4:2:2 and 4:4:4 baseline,
   * progressive, restart-interval, greyscale, odd-sized, CMYK and YCCK JPEGs all decode bit for bit alike, since
   * ImageIO's libjpeg and libjpeg-turbo share the default integer IDCT, fancy upsampling and colour tables.
   */
  public static RgbImage read(Path path) throws IOException {
    if (!Files.isRegularFile(path)) {
      throw new IOException("no image file at " + path + ": it " + FileKinds.notAFile(path));
    }
    // the dataset's validation checks, for the images that skip it (prepare's --image): a header's size above
    // Pillow's bomb limit would otherwise be decoded whole, a truncated PNG fail with ImageIO's words
    ImageHeader.check(path);
    FourChannelJpeg.Header jpeg = FourChannelJpeg.header(path);
    if (jpeg != null && jpeg.components() == 4) {
      return FourChannelJpeg.read(path, jpeg);
    }
    BufferedImage img;
    try {
      img = ImageIO.read(path.toFile());
    } catch (RuntimeException e) { // ImageIO's decoders throw unchecked exceptions on some corrupt data
      throw new IOException("corrupt image data: " + e, e);
    }
    if (img == null) {
      throw new IOException("unsupported or corrupt image (PNG, JPEG, BMP and GIF are read): " + path);
    }
    return fromBuffered(img);
  }

  /** Converts a decoded image as {@link #read} does. */
  public static RgbImage fromBuffered(BufferedImage img) {
    int w = img.getWidth();
    int h = img.getHeight();
    byte[] out = new byte[bytes(w, h)];
    Raster r = img.getRaster();
    int bands = r.getNumBands();
    int bits = img.getColorModel().getComponentSize(0);
    boolean indexed = img.getColorModel() instanceof IndexColorModel;
    int shift = bits > 8 ? bits - 8 : 0;
    int[] px = new int[bands];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int rr;
        int gg;
        int bb;
        int aa;
        if (indexed) {
          int argb = img.getColorModel().getRGB(r.getDataElements(x, y, null));
          aa = argb >>> 24;
          rr = (argb >> 16) & 0xff;
          gg = (argb >> 8) & 0xff;
          bb = argb & 0xff;
        } else {
          r.getPixel(x, y, px);
          if (bands <= 2) {
            rr = gg = bb = px[0] >> shift;
            aa = bands == 2 ? px[1] >> shift : 255;
          } else {
            rr = px[0] >> shift;
            gg = px[1] >> shift;
            bb = px[2] >> shift;
            aa = bands >= 4 ? px[3] >> shift : 255;
          }
        }
        if (bands == 3 && !indexed) {
          aa = 255; // RGB mode: convert_to_rgb returns it unchanged
        }
        int o = (y * w + x) * 3;
        if (aa == 255) {
          out[o] = (byte) rr;
          out[o + 1] = (byte) gg;
          out[o + 2] = (byte) bb;
        } else {
          out[o] = (byte) compositeOnWhite(rr, aa);
          out[o + 1] = (byte) compositeOnWhite(gg, aa);
          out[o + 2] = (byte) compositeOnWhite(bb, aa);
        }
      }
    }
    return new RgbImage(w, h, out);
  }

  /** Pillow's ImagingAlphaComposite of (v, a) over opaque white, one channel (PRECISION_BITS 7). */
  static int compositeOnWhite(int v, int a) {
    if (a == 0) {
      return 255;
    }
    final int bitsP = 7;
    long blend = 255L * (255 - a);
    long outa255 = a * 255L + blend;
    long coef1 = a * 255L * 255 * (1 << bitsP) / outa255;
    long coef2 = 255L * (1 << bitsP) - coef1;
    long tmp = v * coef1 + 255L * coef2 + (0x80L << bitsP);
    return (int) ((((tmp >> 8) + tmp) >> 8) >> bitsP);
  }
}
