// COCO box AP of one image, as VLM-R1's calculate_map gets it from pycocotools (VLM-R1-SPEC.md 3.4): COCOeval "bbox"
// with 10 IoU thresholds (.50:.05:.95), 101 recall points, maxDets 100, area range "all", categories from the ground
// truth labels, every detection scored 1.0 (so ties keep the output order).
package org.vlmr1.reward;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vlmr1.util.NumpySum;

/** A faithful port of the parts of pycocotools' evaluate / accumulate / summarize that stats[0] and stats[1] use. */
public final class CocoMap {
  private CocoMap() {}

  /** One box: {@code [x1, y1, x2, y2]} and its label (null for JSON null: Python's None is a category too). */
  public record Box(double x1, double y1, double x2, double y2, Object label) {
    double w() {
      return x2 - x1;
    }

    double h() {
      return y2 - y1;
    }

    double area() {
      return w() * h();
    }
  }

  private static final int T = 10;
  private static final int R = 101;
  private static final int MAX_DETS = 100;
  private static final double[] IOU_THRS = linspace(0.5, 0.95, T);
  private static final double[] REC_THRS = linspace(0.0, 1.0, R);
  private static final double AREA_MIN = 0;
  private static final double AREA_MAX = 1e10; // 1e5 ** 2

  /** numpy.linspace(start, stop, num): i * step + start, the last one exactly stop. */
  static double[] linspace(double start, double stop, int num) {
    double step = (stop - start) / (num - 1);
    double[] y = new double[num];
    for (int i = 0; i < num; i++) {
      y[i] = i * step + start;
    }
    y[num - 1] = stop;
    return y;
  }

  /**
   * COCOeval stats[0] (AP@[.5:.95], {@code iou50 = false}) or stats[1] (AP@.5) of the detections against the ground
   * truth; -1 when no category has a non-ignored ground-truth box (pycocotools' "no data"). Detections whose label is
   * not a ground-truth label are dropped before evaluation, as calculate_map does; with none left the result is 0.
   */
  public static double ap(List<Box> detections, List<Box> groundTruth, boolean iou50) {
    Map<Object, Integer> cats = new LinkedHashMap<>();
    for (Box g : groundTruth) {
      cats.putIfAbsent(g.label(), cats.size());
    }
    List<Box> dets = new ArrayList<>();
    for (Box d : detections) {
      if (cats.containsKey(d.label())) {
        dets.add(d);
      }
    }
    if (dets.isEmpty()) {
      return 0.0;
    }
    int thresholds = iou50 ? 1 : T; // stats[1] reads the 0.5 threshold, the first
    List<double[][]> perCategory = new ArrayList<>();
    for (Object cat : cats.keySet()) {
      List<Box> g = new ArrayList<>();
      List<Box> d = new ArrayList<>();
      for (Box b : groundTruth) {
        if (java.util.Objects.equals(b.label(), cat)) {
          g.add(b);
        }
      }
      for (Box b : dets) {
        if (java.util.Objects.equals(b.label(), cat)) {
          d.add(b);
        }
      }
      double[][] precision = categoryPrecision(d, g);
      if (precision != null) { // null: no non-ignored ground truth, precision stays -1 and is left out of the mean
        perCategory.add(precision);
      }
    }
    if (perCategory.isEmpty()) {
      return -1.0;
    }
    // np.mean(s[s > -1]) over s = precision[t, r, k]: flattened with the category fastest, summed pairwise
    double[] s = new double[thresholds * R * perCategory.size()];
    int i = 0;
    for (int t = 0; t < thresholds; t++) {
      for (int r = 0; r < R; r++) {
        for (double[][] precision : perCategory) {
          s[i++] = precision[t][r];
        }
      }
    }
    return NumpySum.mean(s);
  }

  /** evaluateImg + accumulate for one category, area "all", maxDet 100: precision[t][r], or null when npig == 0. */
  private static double[][] categoryPrecision(List<Box> dtAll, List<Box> gtIn) {
    // Detections: scores all 1.0, a stable sort keeps their order; at most maxDets.
    List<Box> dt = dtAll.size() > MAX_DETS ? dtAll.subList(0, MAX_DETS) : dtAll;
    // Ground truth sorted by ignore flag (stable): non-ignored first.
    List<Box> gt = new ArrayList<>();
    List<Boolean> gtIgnore = new ArrayList<>();
    for (int pass = 0; pass < 2; pass++) {
      for (Box g : gtIn) {
        boolean ig = g.area() < AREA_MIN || g.area() > AREA_MAX;
        if (ig == (pass == 1)) {
          gt.add(g);
          gtIgnore.add(ig);
        }
      }
    }
    int nd = dt.size();
    int ng = gt.size();
    int npig = 0;
    for (boolean ig : gtIgnore) {
      if (!ig) {
        npig++;
      }
    }
    if (ng == 0 && nd == 0) {
      return null;
    }
    double[][] ious = new double[nd][ng];
    for (int i = 0; i < nd; i++) {
      for (int j = 0; j < ng; j++) {
        ious[i][j] = bboxIou(dt.get(i), gt.get(j));
      }
    }
    boolean[][] dtMatched = new boolean[T][nd];
    boolean[][] dtIg = new boolean[T][nd];
    for (int t = 0; t < T; t++) {
      boolean[] gtm = new boolean[ng];
      for (int di = 0; di < nd; di++) {
        double iou = Math.min(IOU_THRS[t], 1 - 1e-10);
        int m = -1;
        for (int gi = 0; gi < ng; gi++) {
          if (gtm[gi]) {
            continue; // already matched, and no crowd boxes here
          }
          if (m > -1 && !gtIgnore.get(m) && gtIgnore.get(gi)) {
            break;
          }
          if (ious[di][gi] < iou) {
            continue;
          }
          iou = ious[di][gi];
          m = gi;
        }
        if (m == -1) {
          continue;
        }
        dtIg[t][di] = gtIgnore.get(m);
        dtMatched[t][di] = true;
        gtm[m] = true;
      }
      for (int di = 0; di < nd; di++) {
        double a = dt.get(di).area();
        if (!dtMatched[t][di] && (a < AREA_MIN || a > AREA_MAX)) {
          dtIg[t][di] = true;
        }
      }
    }
    if (npig == 0) {
      return null;
    }
    double[][] precision = new double[T][R];
    for (int t = 0; t < T; t++) {
      double[] rc = new double[nd];
      double[] pr = new double[nd];
      double tp = 0;
      double fp = 0;
      for (int di = 0; di < nd; di++) {
        if (!dtIg[t][di]) {
          if (dtMatched[t][di]) {
            tp++;
          } else {
            fp++;
          }
        }
        rc[di] = tp / npig;
        pr[di] = tp / (fp + tp + Math.ulp(1.0));
      }
      for (int i = nd - 1; i > 0; i--) {
        if (pr[i] > pr[i - 1]) {
          pr[i - 1] = pr[i];
        }
      }
      for (int ri = 0; ri < R; ri++) {
        int pi = searchSortedLeft(rc, REC_THRS[ri]);
        if (pi >= nd) {
          break; // pr[pi] raises IndexError in pycocotools; the rest of q stays 0
        }
        precision[t][ri] = pr[pi];
      }
    }
    return precision;
  }

  /** numpy.searchsorted(a, v, side='left') on an ascending array. */
  private static int searchSortedLeft(double[] a, double v) {
    int lo = 0;
    int hi = a.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (a[mid] < v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** pycocotools maskUtils.iou for boxes (x, y, w, h), iscrowd 0. */
  private static double bboxIou(Box d, Box g) {
    double w = Math.min(d.x1() + d.w(), g.x1() + g.w()) - Math.max(d.x1(), g.x1());
    if (w <= 0) {
      return 0;
    }
    double h = Math.min(d.y1() + d.h(), g.y1() + g.h()) - Math.max(d.y1(), g.y1());
    if (h <= 0) {
      return 0;
    }
    double i = w * h;
    double u = d.w() * d.h() + g.w() * g.h() - i;
    return i / u;
  }
}
