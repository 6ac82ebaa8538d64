// InternVL's image preprocessing (ARCHITECTURES.md B3, VLM-R1's InvernVLModule / InternVL's load_image): the
// dynamic_preprocess tile grid, Pillow's bicubic resize to the grid, row-major tiles plus a thumbnail when there is
// more than one, and torchvision's ToTensor + Normalize(ImageNet) per tile, through our native kernels with this class's
// Java code as their oracle and fallback.
package org.vlmr1.module.internvl;

import java.util.ArrayList;
import java.util.List;
import org.vlmr1.data.PillowResize;
import org.vlmr1.data.RgbImage;
import org.vlmr1.kernels.ImageKernels;

/** Turns images into (tiles, 3, S, S) pixel values. Thread-safe. */
public final class InternVlImageProcessor {
  /** ImageNet mean and std (torchvision's Normalize takes them as float32). */
  static final float[] MEAN = {0.485f, 0.456f, 0.406f};
  static final float[] STD = {0.229f, 0.224f, 0.225f};
  /**
   * The most tiles an image may be cut into. Released checkpoints use 6 to 12; TileGrid enumerates about
   * maxNum * ln(maxNum) grids, so a max_dynamic_patch of 10^9 ran for ever and a min of 10^9 crashed the JVM.
   */
  public static final int MAX_TILES = 10_000;
  private final int imageSize;
  private final int minNum;
  private final int maxNum;
  private final boolean useThumbnail;

  /**
   * @param imageSize the tile side (force_image_size)
   * @param minNum, maxNum the tile-count range (min_dynamic_patch, max_anyres_num)
   */
  public InternVlImageProcessor(int imageSize, int minNum, int maxNum, boolean useThumbnail) {
    if (imageSize < 1 || minNum < 1 || maxNum < minNum) {
      throw new IllegalArgumentException("InternVL tiling needs image size >= 1 and 1 <= min_num <= max_num, got "
          + imageSize + ", " + minNum + ", " + maxNum);
    }
    String tooMany = tooManyTiles("max_num", imageSize, maxNum);
    if (tooMany != null) {
      throw new IllegalArgumentException(tooMany);
    }
    this.imageSize = imageSize;
    this.minNum = minNum;
    this.maxNum = maxNum;
    this.useThumbnail = useThumbnail;
  }

  /**
   * Why {@code maxNum} tiles ({@code key} in the message) of side {@code imageSize} (plus the thumbnail) are too
   * many, or null: at most {@link #MAX_TILES}, and their floats (and the resized image's bytes) must fit in one Java
   * array.
   */
  static String tooManyTiles(String key, int imageSize, long maxNum) {
    long floats = (maxNum + 1L) * 3 * imageSize * imageSize;
    if (maxNum > MAX_TILES || floats > Integer.MAX_VALUE - 8) {
      return key + " " + maxNum + " tiles of " + imageSize + " pixels is too many (at most " + MAX_TILES
          + " tiles, and (tiles + 1) * 3 * image_size^2 < 2^31 floats)";
    }
    return null;
  }

  public int imageSize() {
    return imageSize;
  }

  public int maxNum() {
    return maxNum;
  }

  /** The tile grid of an image. */
  public TileGrid.Grid grid(RgbImage img) {
    return TileGrid.choose(img.width(), img.height(), minNum, maxNum, imageSize);
  }

  /** Tiles of one image: the grid's row-major crops, then the thumbnail when the grid has more than one tile. */
  public int numTiles(RgbImage img) {
    return TileGrid.numTiles(grid(img), useThumbnail);
  }

  /** The pixel values of one image: (tiles, 3, S, S) row-major floats. */
  public float[] pixelValues(RgbImage img) {
    TileGrid.Grid g = grid(img);
    int s = imageSize;
    RgbImage resized = PillowResize.bicubic(img, s * g.columns(), s * g.rows());
    float[] tiles = ImageKernels.internvlTiles(resized.hwc(), resized.width(), resized.height(), g.columns(),
        g.rows(), s, MEAN, STD, () -> normalise(resized, g.columns(), g.rows(), s));
    if (g.blocks() == 1 || !useThumbnail) {
      return tiles;
    }
    RgbImage thumb = PillowResize.bicubic(img, s, s);
    float[] t = ImageKernels.internvlTiles(thumb.hwc(), s, s, 1, 1, s, MEAN, STD, () -> normalise(thumb, 1, 1, s));
    float[] out = java.util.Arrays.copyOf(tiles, tiles.length + t.length);
    System.arraycopy(t, 0, out, tiles.length, t.length);
    return out;
  }

  /** {@link #pixelValues} computed by the Java reference alone (Pillow port + Java normalise): oracle and bench row. */
  public float[] pixelValuesReference(RgbImage img) {
    TileGrid.Grid g = grid(img);
    int s = imageSize;
    float[] tiles = normalise(org.vlmr1.data.PillowResize.resize(img, s * g.columns(), s * g.rows()), g.columns(),
        g.rows(), s);
    if (g.blocks() == 1 || !useThumbnail) {
      return tiles;
    }
    float[] t = normalise(org.vlmr1.data.PillowResize.resize(img, s, s), 1, 1, s);
    float[] out = java.util.Arrays.copyOf(tiles, tiles.length + t.length);
    System.arraycopy(t, 0, out, tiles.length, t.length);
    return out;
  }

  /** The uint8 tiles (debug / parity: what InternVL's PIL code holds before ToTensor). */
  public List<RgbImage> tileImages(RgbImage img) {
    TileGrid.Grid g = grid(img);
    int s = imageSize;
    RgbImage resized = PillowResize.bicubic(img, s * g.columns(), s * g.rows());
    List<RgbImage> out = new ArrayList<>();
    for (int k = 0; k < g.blocks(); k++) {
      out.add(crop(resized, (k % g.columns()) * s, (k / g.columns()) * s, s));
    }
    if (g.blocks() != 1 && useThumbnail) {
      out.add(PillowResize.bicubic(img, s, s));
    }
    return out;
  }

  /** A white S x S tile through the same transform: the dummy tile (flag 0) of a text-only example. */
  public float[] dummyTile() {
    byte[] white = new byte[imageSize * imageSize * 3];
    java.util.Arrays.fill(white, (byte) 255);
    return normalise(new RgbImage(imageSize, imageSize, white), 1, 1, imageSize);
  }

  /** The Java reference: crop row-major tiles, (float32(u8) / 255f - mean) / std in float32, channels first. */
  static float[] normalise(RgbImage img, int cols, int rows, int s) {
    float[][] lut = new float[3][256];
    for (int c = 0; c < 3; c++) {
      for (int v = 0; v < 256; v++) {
        lut[c][v] = ((float) v / 255f - MEAN[c]) / STD[c];
      }
    }
    byte[] px = img.hwc();
    int w = img.width();
    float[] out = new float[rows * cols * 3 * s * s];
    int o = 0;
    for (int tile = 0; tile < rows * cols; tile++) {
      int x0 = (tile % cols) * s;
      int y0 = (tile / cols) * s;
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < s; y++) {
          for (int x = 0; x < s; x++) {
            out[o++] = lut[c][px[((y0 + y) * w + x0 + x) * 3 + c] & 0xff];
          }
        }
      }
    }
    return out;
  }

  private static RgbImage crop(RgbImage img, int x0, int y0, int s) {
    byte[] out = new byte[s * s * 3];
    for (int y = 0; y < s; y++) {
      System.arraycopy(img.hwc(), ((y0 + y) * img.width() + x0) * 3, out, y * s * 3, s * 3);
    }
    return new RgbImage(s, s, out);
  }
}
