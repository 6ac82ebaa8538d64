// Original image sizes for the Qwen REC reward's box rescaling, read from the file header only (PIL's Image.size:
// the stored width and height, no EXIF rotation).
package org.vlmr1.reward;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/** Cached (width, height) of image files. Thread-safe. */
final class ImageSizes {
  private static final ConcurrentHashMap<Path, int[]> CACHE = new ConcurrentHashMap<>();

  private ImageSizes() {}

  /** {width, height} of the image, from its header. */
  static int[] size(Path path) throws IOException {
    int[] cached = CACHE.get(path);
    if (cached != null) {
      return cached;
    }
    try (ImageInputStream in = ImageIO.createImageInputStream(path.toFile())) {
      if (in == null) {
        throw new IOException("cannot open " + path);
      }
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new IOException("unsupported image format: " + path);
      }
      ImageReader r = readers.next();
      try {
        r.setInput(in, true, true);
        int[] wh = {r.getWidth(0), r.getHeight(0)};
        CACHE.put(path, wh);
        return wh;
      } finally {
        r.dispose();
      }
    }
  }
}
