// PNG line plots of a run's metrics (reward, KL, completion length), drawn with Java2D next to metrics.jsonl.
package org.vlmr1.trainer;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/** Writes reward.png, kl.png and completion_length.png. */
public final class Plots {
  private Plots() {}

  public static void write(Path dir, List<StepMetrics> h) throws IOException {
    plot(dir.resolve("reward.png"), "reward", h, StepMetrics::reward);
    plot(dir.resolve("kl.png"), "kl", h, StepMetrics::kl);
    plot(dir.resolve("completion_length.png"), "completion_length", h, StepMetrics::completionLength);
  }

  static void plot(Path file, String title, List<StepMetrics> h, ToDoubleFunction<StepMetrics> f) throws IOException {
    int w = 640;
    int ht = 360;
    int pad = 48;
    BufferedImage img = new BufferedImage(w, ht, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, ht);
    g.setColor(Color.DARK_GRAY);
    g.drawRect(pad, pad / 2, w - pad - pad / 2, ht - pad - pad / 2);
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (StepMetrics m : h) {
      double v = f.applyAsDouble(m);
      if (Double.isFinite(v)) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    }
    if (!(max > min)) {
      max = min + 1;
    }
    g.drawString(title + " (" + String.format("%.4g", min) + " .. " + String.format("%.4g", max) + ") over "
        + h.size() + " steps", pad, pad / 2 - 6);
    g.setColor(new Color(30, 90, 200));
    g.setStroke(new BasicStroke(2f));
    int px = -1;
    int py = -1;
    for (int i = 0; i < h.size(); i++) {
      double v = f.applyAsDouble(h.get(i));
      if (!Double.isFinite(v)) {
        continue;
      }
      int x = pad + (int) ((w - pad - pad / 2) * (h.size() == 1 ? 0.5 : (double) i / (h.size() - 1)));
      int y = pad / 2 + (int) ((ht - pad - pad / 2) * (1 - (v - min) / (max - min)));
      if (px >= 0) {
        g.drawLine(px, py, x, y);
      }
      px = x;
      py = y;
    }
    g.dispose();
    ImageIO.write(img, "png", file.toFile());
  }
}
