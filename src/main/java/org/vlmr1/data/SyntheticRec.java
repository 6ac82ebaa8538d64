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
import org.vlmr1.reward.Json;

/** Writes synthetic REC data. Deterministic for a seed. */
public final class SyntheticRec {
  private SyntheticRec() {}

  static final String[] COLOURS = {"red", "green", "blue", "yellow"};
  static final Color[] RGB = {new Color(220, 30, 30), new Color(30, 170, 60), new Color(40, 60, 220),
      new Color(240, 210, 30)};
  static final String[] SHAPES = {"square", "circle"};

  /** Writes {@code n} examples as {@code out/data.jsonl} with images under {@code out/images}; returns the file. */
  public static Path write(Path out, int n, int width, int height, long seed) throws IOException {
    Path images = out.resolve("images");
    Files.createDirectories(images);
    Random rnd = new Random(seed);
    Path jsonl = out.resolve("data.jsonl");
    try (BufferedWriter w = Files.newBufferedWriter(jsonl, StandardCharsets.UTF_8)) {
      for (int i = 0; i < n; i++) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_OFF);
        g.setColor(new Color(235, 235, 235));
        g.fillRect(0, 0, width, height);
        int shapes = 2 + rnd.nextInt(2);
        List<int[]> boxes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Integer> used = new ArrayList<>();
        for (int s = 0; s < shapes; s++) {
          int c;
          do {
            c = rnd.nextInt(COLOURS.length);
          } while (used.contains(c));
          used.add(c);
          int size = Math.max(8, Math.min(width, height) / 4 + rnd.nextInt(Math.max(1, Math.min(width, height) / 6)));
          int x = rnd.nextInt(Math.max(1, width - size));
          int y = rnd.nextInt(Math.max(1, height - size));
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
