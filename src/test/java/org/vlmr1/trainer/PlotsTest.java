// The run charts as objects, headless: x values are the steps, the y range holds every value (a constant too), both
// axes show at least three labelled ticks, the moving average is the trailing mean; metrics.jsonl as a resumed run
// leaves it charts every step once; the PNGs are written.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Graphics2D;
import java.awt.GraphicsEnvironment;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.AxisState;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.Tick;
import org.jfree.chart.axis.ValueTick;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.Range;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsTest {

  /** A random run: 20..300 points, steps from a random start with gaps of 1..3, values at a random scale. */
  @Test
  void chartOfARandomSeries() {
    long seed = System.nanoTime();
    System.out.println("PlotsTest seed " + seed);
    Random rnd = new Random(seed);
    for (int trial = 0; trial < 20; trial++) {
      int n = 20 + rnd.nextInt(281);
      int[] steps = new int[n];
      double[] values = new double[n];
      double scale = Math.pow(10, rnd.nextInt(9) - 5);
      double offset = rnd.nextGaussian() * 10 * scale;
      int step = 1 + rnd.nextInt(50);
      for (int i = 0; i < n; i++) {
        steps[i] = step;
        step += 1 + rnd.nextInt(3);
        values[i] = offset + scale * rnd.nextGaussian();
      }
      String where = "seed " + seed + " trial " + trial + " n " + n + " scale " + scale;
      JFreeChart chart = Plots.chart(new Plots.Series("reward", steps, values));
      XYSeries raw = series(chart, 0);
      assertEquals("raw", raw.getKey(), where);
      assertArrayEquals(steps, xs(raw), where);
      assertArrayEquals(values, ys(raw), where);
      XYSeries avg = series(chart, 1);
      assertTrue(avg.getKey().toString().startsWith("moving average"), where);
      assertArrayEquals(steps, xs(avg), where);
      int w = Math.min(10, Math.max(1, n / 10));
      assertTrue(avg.getKey().toString().contains("last " + w + " point"), avg.getKey() + " " + where);
      double[] expected = new double[n];
      for (int i = 0; i < n; i++) {
        int from = Math.max(0, i - w + 1);
        expected[i] = Arrays.stream(values, from, i + 1).sum() / (i + 1 - from);
      }
      assertArrayEquals(expected, ys(avg), 1e-9 * scale + 1e-12 * Math.abs(offset), where);
      assertAxes(chart, "reward", values, where);
    }
  }

  @Test
  void nonFiniteValuesAreLeftOut() {
    int[] steps = {1, 2, 3, 4, 5, 6, 7};
    double[] values = {0.5, Double.NaN, 0.25, Double.POSITIVE_INFINITY, 1.0, Double.NEGATIVE_INFINITY, 0.75};
    JFreeChart chart = Plots.chart(new Plots.Series("kl", steps, values));
    assertArrayEquals(new int[] {1, 3, 5, 7}, xs(series(chart, 0)));
    assertArrayEquals(new double[] {0.5, 0.25, 1.0, 0.75}, ys(series(chart, 0)));
    assertArrayEquals(new int[] {1, 3, 5, 7}, xs(series(chart, 1)));
    assertAxes(chart, "kl", new double[] {0.5, 0.25, 1.0, 0.75}, "non-finite");
  }

  /** A constant sits inside a range of nonzero length centred on it, not at the frame's edge of an invented range. */
  @Test
  void aConstantSeriesGetsARangeAroundIt() {
    for (double c : new double[] {0, 1, -2.5, 1e-9, 37.25, 4e6}) {
      for (int n : new int[] {1, 2, 3, 40}) {
        int[] steps = new int[n];
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
          steps[i] = 10 + i;
          values[i] = c;
        }
        String where = "constant " + c + " over " + n + " steps";
        JFreeChart chart = Plots.chart(new Plots.Series("completion_length", steps, values));
        Range r = chart.getXYPlot().getRangeAxis().getRange();
        assertTrue(r.getLength() > 0, r + " " + where);
        assertEquals(c, r.getCentralValue(), 1e-9 * Math.max(1, Math.abs(c)), r + " " + where);
        assertAxes(chart, "completion_length", values, where);
      }
    }
  }

  @Test
  void anEmptySeriesStillHasAxes() {
    JFreeChart chart = Plots.chart(new Plots.Series("reward", new int[] {1, 2}, new double[] {Double.NaN,
        Double.NaN}));
    assertEquals(0, series(chart, 0).getItemCount());
    assertAxes(chart, "reward", new double[0], "all NaN");
  }

  /**
   * metrics.jsonl after an interrupted run (steps 1-5, checkpoint at 3) and its resume (steps 4-5 again): each
   * step once, the resumed row winning; rows past the step being saved left out; a cut line and NaN skipped.
   */
  @Test
  void metricsOfAResumedRunGiveEveryStepOnce(@TempDir Path dir) throws Exception {
    RunWriter w = new RunWriter(dir);
    for (int s = 1; s <= 5; s++) {
      w.log(metrics(s, s, 0.1 * s, 10 + s), 1.0);
    }
    Files.writeString(dir.resolve("metrics.jsonl"), "{\"step\": 6, \"rew", java.nio.file.StandardOpenOption.APPEND);
    Files.writeString(dir.resolve("metrics.jsonl"), "\n", java.nio.file.StandardOpenOption.APPEND);
    w.log(metrics(4, 40, Double.NaN, 14), 1.0);
    List<Plots.Series> all = Plots.readMetrics(dir.resolve("metrics.jsonl"), 4);
    assertEquals(Plots.METRICS, all.stream().map(Plots.Series::metric).toList());
    Map<String, Plots.Series> by = new java.util.HashMap<>();
    all.forEach(s -> by.put(s.metric(), s));
    assertArrayEquals(new int[] {1, 2, 3, 4}, by.get("reward").steps());
    assertArrayEquals(new double[] {1, 2, 3, 40}, by.get("reward").values());
    assertArrayEquals(new double[] {11, 12, 13, 14}, by.get("completion_length").values());
    assertTrue(Double.isNaN(by.get("kl").values()[3]), Arrays.toString(by.get("kl").values()));
    JFreeChart kl = Plots.chart(by.get("kl"));
    assertArrayEquals(new int[] {1, 2, 3}, xs(series(kl, 0)));
    Plots.writeFromMetrics(dir, 4);
    for (String m : Plots.METRICS) {
      assertPng(dir.resolve(m + ".png"));
    }
  }

  @Test
  void writesThreePngsHeadless(@TempDir Path dir) throws Exception {
    assertTrue(GraphicsEnvironment.isHeadless(), "the tests run with java.awt.headless=true, as bin/vlmr1 does");
    List<StepMetrics> history = new ArrayList<>();
    for (int s = 1; s <= 25; s++) {
      history.add(metrics(s, Math.sin(s), 0.01 * s, 7));
    }
    Plots.write(dir, history);
    for (String m : List.of("reward", "kl", "completion_length")) {
      assertPng(dir.resolve(m + ".png"));
    }
    try (var files = Files.list(dir)) {
      assertEquals(3, files.count(), "no temporary file left");
    }
  }

  private static StepMetrics metrics(int step, double reward, double kl, double length) {
    return new StepMetrics(step, 0.1, reward, 0.2, Map.of("accuracy", reward), kl, 1.0, 0.0, length, 1.0, 1e-5,
        false, Map.of("generate", 1.0), 8);
  }

  private static void assertPng(Path file) throws Exception {
    BufferedImage img = ImageIO.read(file.toFile());
    assertEquals(Plots.WIDTH, img.getWidth(), file.toString());
    assertEquals(Plots.HEIGHT, img.getHeight(), file.toString());
  }

  private static XYSeries series(JFreeChart chart, int i) {
    return ((XYSeriesCollection) chart.getXYPlot().getDataset()).getSeries(i);
  }

  private static int[] xs(XYSeries s) {
    int[] out = new int[s.getItemCount()];
    for (int i = 0; i < out.length; i++) {
      double x = s.getX(i).doubleValue();
      assertEquals(Math.rint(x), x, "x values are steps");
      out[i] = (int) x;
    }
    return out;
  }

  private static double[] ys(XYSeries s) {
    double[] out = new double[s.getItemCount()];
    for (int i = 0; i < out.length; i++) {
      out[i] = s.getY(i).doubleValue();
    }
    return out;
  }

  /** Axis labels, the y range holds every value, and each axis lays out >= 3 labelled ticks (x ticks integers). */
  private static void assertAxes(JFreeChart chart, String metric, double[] values, String where) {
    NumberAxis x = (NumberAxis) chart.getXYPlot().getDomainAxis();
    NumberAxis y = (NumberAxis) chart.getXYPlot().getRangeAxis();
    assertEquals("step", x.getLabel(), where);
    assertEquals(metric, y.getLabel(), where);
    Range r = y.getRange();
    for (double v : values) {
      assertTrue(r.contains(v), v + " outside " + r + " " + where);
    }
    BufferedImage img = new BufferedImage(Plots.WIDTH, Plots.HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      // Roughly the data area JFreeChart leaves inside an 800 x 450 chart with title, legend and axis labels.
      Rectangle2D area = new Rectangle2D.Double(70, 40, Plots.WIDTH - 90, Plots.HEIGHT - 120);
      List<String> xLabels = labels(x.refreshTicks(g, new AxisState(), area, RectangleEdge.BOTTOM));
      List<String> yLabels = labels(y.refreshTicks(g, new AxisState(), area, RectangleEdge.LEFT));
      assertTrue(xLabels.size() >= 3, "x ticks " + xLabels + " " + where);
      assertTrue(yLabels.size() >= 3, "y ticks " + yLabels + " " + where);
      for (Object t : x.refreshTicks(g, new AxisState(), area, RectangleEdge.BOTTOM)) {
        double v = ((ValueTick) t).getValue();
        assertEquals(Math.rint(v), v, "x tick " + v + " is a step " + where);
      }
    } finally {
      g.dispose();
    }
  }

  private static List<String> labels(List<?> ticks) {
    List<String> out = new ArrayList<>();
    for (Object t : ticks) {
      String text = ((Tick) t).getText();
      if (text != null && !text.isBlank()) {
        out.add(text);
      }
    }
    return out;
  }
}
