// PNG line charts of a run's metrics (reward, KL, completion length) next to metrics.jsonl, drawn with JFreeChart:
// step on the x axis, labelled ticks, the raw series and its trailing moving average. Renders headless.
package org.vlmr1.trainer;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.TickUnits;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.vlmr1.util.Json;

/**
 * Writes reward.png, kl.png and completion_length.png: one XY line chart per metric, x = optimizer step (integer
 * ticks), y = the metric. Two series: {@code raw} (every logged step with a finite value; NaN and infinite values
 * are left out) and {@code moving average}, the trailing mean over the last {@link #window w} raw points, where
 * w = min(10, max(1, n / 10)) for n raw points (1 below 20 points, 10 from 100 on). The y range is the data's range
 * padded by 5% of its span on each side; a constant series gets a symmetric pad of 5% of |value| (at least 1e-3).
 */
public final class Plots {
  /** The metrics plotted, as metrics.jsonl names them; each goes to {@code <name>.png}. */
  public static final List<String> METRICS = List.of("reward", "kl", "completion_length");

  static final int WIDTH = 800;
  static final int HEIGHT = 450;

  private static final Map<String, ToDoubleFunction<StepMetrics>> FIELDS = Map.of("reward", StepMetrics::reward,
      "kl", StepMetrics::kl, "completion_length", StepMetrics::completionLength);

  /**
   * Whole-step tick units 1, 2, 5, 10, ... . NumberAxis.createIntegerTickUnits() in JFreeChart 1.5.6 still picks 0.1
   * on a range of two steps (its NumberTickUnitSource does not hold to integers there).
   */
  private static final TickUnits STEP_TICKS = new TickUnits();

  static {
    java.text.DecimalFormat whole = new java.text.DecimalFormat("0");
    for (long p = 1; p <= 1_000_000_000L; p *= 10) {
      for (long m : new long[] {1, 2, 5}) {
        STEP_TICKS.add(new NumberTickUnit(m * p, whole));
      }
    }
  }

  private Plots() {}

  /** One metric's values in step order (steps increasing and distinct); values may be non-finite. */
  record Series(String metric, int[] steps, double[] values) {
    Series {
      if (steps.length != values.length) {
        throw new IllegalArgumentException(metric + ": " + steps.length + " steps but " + values.length + " values");
      }
    }
  }

  /** The file a metric's chart goes to. */
  public static Path file(Path dir, String metric) {
    return dir.resolve(metric + ".png");
  }

  /** Charts the steps of {@code history} (the demo's in-memory run) into {@code dir}. */
  public static void write(Path dir, List<StepMetrics> history) throws IOException {
    for (String metric : METRICS) {
      ToDoubleFunction<StepMetrics> f = FIELDS.get(metric);
      TreeMap<Integer, Double> byStep = new TreeMap<>();
      history.forEach(m -> byStep.put(m.step(), f.applyAsDouble(m)));
      writePng(file(dir, metric), chart(series(metric, byStep)));
    }
  }

  /**
   * Charts {@code dir/metrics.jsonl} up to step {@code upToStep} into {@code dir}. The file is the run's durable
   * record: after a resume it still holds the steps before it, so the charts cover the whole run. Rows are appended,
   * so a step logged twice (an interrupted run past its last checkpoint, then the resumed run) keeps its last row,
   * and rows past {@code upToStep} (the interrupted run's, not yet redone) are left out.
   */
  public static void writeFromMetrics(Path dir, int upToStep) throws IOException {
    for (Series s : readMetrics(dir.resolve("metrics.jsonl"), upToStep)) {
      writePng(file(dir, s.metric()), chart(s));
    }
  }

  /** The {@link #METRICS} series of a metrics.jsonl file (see {@link #writeFromMetrics}); unreadable lines skipped. */
  static List<Series> readMetrics(Path metricsJsonl, int upToStep) throws IOException {
    Map<String, TreeMap<Integer, Double>> byMetric = new TreeMap<>();
    METRICS.forEach(m -> byMetric.put(m, new TreeMap<>()));
    List<String> lines = Files.exists(metricsJsonl) ? Files.readAllLines(metricsJsonl, StandardCharsets.UTF_8)
        : List.of();
    for (String line : lines) {
      Map<?, ?> row;
      try {
        row = Json.parse(line) instanceof Map<?, ?> r ? r : null;
      } catch (IllegalArgumentException e) {
        row = null; // a line cut short by a killed run
      }
      if (row == null || !(row.get("step") instanceof Number n) || n.intValue() > upToStep) {
        continue;
      }
      for (String metric : METRICS) {
        byMetric.get(metric).put(n.intValue(), number(row.get(metric)));
      }
    }
    List<Series> out = new ArrayList<>();
    for (String metric : METRICS) {
      out.add(series(metric, byMetric.get(metric)));
    }
    return out;
  }

  /** A metrics.jsonl value: a number, or the string Jackson writes for NaN and infinities; anything else NaN. */
  private static double number(Object v) {
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    if (v instanceof String s) {
      try {
        return Double.parseDouble(s);
      } catch (NumberFormatException e) {
        return Double.NaN;
      }
    }
    return Double.NaN;
  }

  private static Series series(String metric, TreeMap<Integer, Double> byStep) {
    int[] steps = byStep.keySet().stream().mapToInt(Integer::intValue).toArray();
    double[] values = byStep.values().stream().mapToDouble(Double::doubleValue).toArray();
    return new Series(metric, steps, values);
  }

  /** The moving-average window for n raw points: min(10, max(1, n / 10)). */
  static int window(int n) {
    return Math.min(10, Math.max(1, n / 10));
  }

  /** out[i] = mean of v[max(0, i - w + 1) .. i]. */
  static double[] trailingMean(double[] v, int w) {
    double[] out = new double[v.length];
    double sum = 0;
    for (int i = 0; i < v.length; i++) {
      sum += v[i];
      if (i >= w) {
        sum -= v[i - w];
      }
      out[i] = sum / Math.min(i + 1, w);
    }
    return out;
  }

  /** The chart of one metric (series 0 raw, series 1 moving average); not yet rendered. */
  static JFreeChart chart(Series s) {
    List<Integer> steps = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    for (int i = 0; i < s.steps().length; i++) {
      if (Double.isFinite(s.values()[i])) {
        steps.add(s.steps()[i]);
        values.add(s.values()[i]);
      }
    }
    int n = values.size();
    int w = window(n);
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    double[] ma = trailingMean(v, w);
    // autoSort off, duplicates refused: the points keep the steps' order, which is increasing.
    XYSeries raw = new XYSeries("raw", false, false);
    XYSeries avg = new XYSeries("moving average (last " + plural(w, "point") + ")", false, false);
    for (int i = 0; i < n; i++) {
      raw.add(steps.get(i), (Double) v[i]);
      avg.add(steps.get(i), (Double) ma[i]);
    }
    XYSeriesCollection data = new XYSeriesCollection();
    data.addSeries(raw);
    data.addSeries(avg);
    String title = s.metric() + (n == 0 ? " (no finite values yet)" : " over " + plural(n, "logged step"));
    JFreeChart chart = org.jfree.chart.ChartFactory.createXYLineChart(title, "step", s.metric(), data,
        PlotOrientation.VERTICAL, true, false, false);
    chart.setBackgroundPaint(Color.WHITE);
    XYPlot plot = chart.getXYPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
    r.setSeriesPaint(0, new Color(120, 160, 220));
    r.setSeriesStroke(0, new BasicStroke(1f));
    // Markers on the raw points of short runs, so that one or two points still show.
    r.setSeriesShapesVisible(0, n <= 50);
    r.setSeriesPaint(1, new Color(200, 60, 30));
    r.setSeriesStroke(1, new BasicStroke(2.5f));
    plot.setRenderer(r);

    NumberAxis x = (NumberAxis) plot.getDomainAxis();
    x.setStandardTickUnits(STEP_TICKS);
    int first = steps.isEmpty() ? 0 : steps.get(0);
    int last = steps.isEmpty() ? 0 : steps.get(n - 1);
    if (last - first >= 2) {
      double margin = 0.02 * (last - first);
      x.setRange(first - margin, last + margin);
    } else {
      x.setRange(first - 1, last + 1); // one step either side of a short run: three integer ticks at least
    }

    NumberAxis y = (NumberAxis) plot.getRangeAxis();
    y.setStandardTickUnits(NumberAxis.createStandardTickUnits());
    y.setAutoRangeIncludesZero(false);
    double[] range = yRange(v);
    y.setRange(range[0], range[1]);
    return chart;
  }

  private static String plural(int n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  /** [lower, upper] around finite values: 5% of the span each side; a constant gets ±max(5% of |value|, 1e-3). */
  static double[] yRange(double[] v) {
    if (v.length == 0) {
      return new double[] {-1, 1}; // nothing to show: any range with ticks
    }
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (double d : v) {
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    double pad = max > min ? 0.05 * (max - min) : Math.max(0.05 * Math.abs(min), 1e-3);
    return new double[] {min - pad, max + pad};
  }

  /** Renders {@code chart} to {@code file} through a temporary file and a rename, so a reader never sees half. */
  static void writePng(Path file, JFreeChart chart) throws IOException {
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    ChartUtils.saveChartAsPNG(tmp.toFile(), chart, WIDTH, HEIGHT);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
