// A synthetic referring-expression dataset in VLM-R1's JSONL layout (bin/vlmr1 make-synthetic): images with a few
// coloured shapes, a question naming one of them, its box as the solution.
package org.vlmr1.data;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.vlmr1.util.Json;

/** Writes synthetic REC data. Deterministic for a seed. */
public final class SyntheticRec {
  private SyntheticRec() {}

  static final String[] COLOURS = {"red", "green", "blue", "yellow"};
  static final Color[] RGB = {new Color(220, 30, 30), new Color(30, 170, 60), new Color(40, 60, 220),
      new Color(240, 210, 30)};
  static final String[] SHAPES = {"square", "circle"};

  /** Where shapes go. */
  public enum Layout {
    /** Anywhere in the image, overlaps allowed (the harder task). */
    FREE,
    /**
     * At most one shape per cell of a grid of {@code cell}-pixel squares, about 3/4 of the cell and centred in it to
     * within a pixel: Qwen2.5-VL's merged vision tokens cover 28 x 28 pixels, so with cell 28 a shape sits in one
     * token and its box is the token's place plus a few pixels.
     */
    GRID
  }

  /** What is behind the shapes. */
  public enum Background {
    /** Light grey everywhere. */
    FLAT,
    /**
     * Red rising from 0 to 255 left to right, blue top to bottom: the colour of any patch says where it is. A tiny
     * Qwen2.5-VL cannot otherwise tell where a token sits: the vision tower has no absolute positions, a flat
     * background makes every background token identical, and with rope_theta 1e6 M-RoPE's width section turns by
     * less than 1e-3 rad across a few columns. Real photographs carry such cues in their content.
     */
    GRADIENT
  }

  /**
   * How images are drawn.
   *
   * @param cell grid cell size in pixels ({@link Layout#GRID} only)
   * @param minShapes, maxShapes shapes per image, each of a different colour (at most 4), chosen uniformly
   */
  public record Spec(int width, int height, Layout layout, int cell, Background background, int minShapes,
      int maxShapes) {
    public Spec {
      if (width < 16 || height < 16) {
        throw new IllegalArgumentException("images must be at least 16 x 16 pixels, got " + width + "x" + height);
      }
      if (minShapes < 1 || maxShapes < minShapes || maxShapes > COLOURS.length) {
        throw new IllegalArgumentException("shapes per image must satisfy 1 <= min <= max <= " + COLOURS.length
            + " (one colour each), got " + minShapes + ".." + maxShapes);
      }
      if (layout == Layout.GRID && (cell < 16 || (width / cell) * (height / cell) < maxShapes)) {
        throw new IllegalArgumentException("a grid layout needs cells of at least 16 px and one cell per shape: "
            + width + "x" + height + " with " + cell + " px cells has " + (width / cell) + "x" + (height / cell)
            + " cells for up to " + maxShapes + " shapes");
      }
    }

    /** 2 or 3 shapes anywhere on a flat background (make-synthetic's default). */
    public static Spec free(int width, int height) {
      return new Spec(width, height, Layout.FREE, 28, Background.FLAT, 2, 3);
    }
  }

  /** Writes {@code n} examples drawn as {@link Spec#free}. */
  public static Path write(Path out, int n, int width, int height, long seed) throws IOException {
    return write(out, n, Spec.free(width, height), seed);
  }

  /** Writes {@code n} examples as {@code out/data.jsonl} with images under {@code out/images}; returns the file. */
  public static Path write(Path out, int n, Spec spec, long seed) throws IOException {
    int width = spec.width();
    int height = spec.height();
    int cell = spec.cell();
    int cols = width / cell;
    int rows = height / cell;
    Path images = out.resolve("images");
    Files.createDirectories(images);
    Random rnd = new Random(seed);
    Path jsonl = out.resolve("data.jsonl");
    try (BufferedWriter w = Files.newBufferedWriter(jsonl, StandardCharsets.UTF_8)) {
      for (int i = 0; i < n; i++) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_OFF);
        if (spec.background() == Background.GRADIENT) {
          for (int py = 0; py < height; py++) {
            for (int px = 0; px < width; px++) {
              img.setRGB(px, py, (255 * px / width) << 16 | 128 << 8 | 255 * py / height);
            }
          }
        } else {
          g.setColor(new Color(235, 235, 235));
          g.fillRect(0, 0, width, height);
        }
        int shapes = spec.minShapes() + rnd.nextInt(spec.maxShapes() - spec.minShapes() + 1);
        List<int[]> boxes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Integer> used = new ArrayList<>();
        List<Integer> usedCells = new ArrayList<>();
        for (int s = 0; s < shapes; s++) {
          int c;
          do {
            c = rnd.nextInt(COLOURS.length);
          } while (used.contains(c));
          used.add(c);
          int size;
          int x;
          int y;
          if (spec.layout() == Layout.GRID) {
            int k;
            do {
              k = rnd.nextInt(cols * rows);
            } while (usedCells.contains(k));
            usedCells.add(k);
            size = cell * 3 / 4 + rnd.nextInt(3);
            int slack = cell - size;
            x = (k % cols) * cell + slack / 2 + rnd.nextInt(3) - 1;
            y = (k / cols) * cell + slack / 2 + rnd.nextInt(3) - 1;
          } else {
            size = Math.max(8, Math.min(width, height) / 4 + rnd.nextInt(Math.max(1, Math.min(width, height) / 6)));
            x = rnd.nextInt(Math.max(1, width - size));
            y = rnd.nextInt(Math.max(1, height - size));
          }
          String shape = SHAPES[rnd.nextInt(SHAPES.length)];
          g.setColor(RGB[c]);
          if (shape.equals("square")) {
            g.fillRect(x, y, size, size);
          } else {
            g.fillOval(x, y, size, size);
          }
          boxes.add(new int[] {x, y, x + size, y + size});
          names.add(COLOURS[c] + " " + shape);
        }
        g.dispose();
        String file = String.format("img_%05d.png", i);
        ImageIO.write(img, "png", images.resolve(file).toFile());
        int target = rnd.nextInt(shapes);
        int[] b = boxes.get(target);
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("id", i);
        row.put("image", "images/" + file);
        row.put("conversations", List.of(
            Map.of("from", "human", "value", "<image>Please provide the bounding box coordinate of the region this "
                + "sentence describes: the " + names.get(target) + "."),
            Map.of("from", "gpt", "value", "[" + b[0] + ", " + b[1] + ", " + b[2] + ", " + b[3] + "]")));
        w.write(Json.write(row));
        w.newLine();
      }
    }
    return jsonl;
  }
}
