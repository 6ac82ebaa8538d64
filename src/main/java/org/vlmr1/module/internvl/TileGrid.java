// InternVL's dynamic_preprocess tile-grid choice (OpenGVLab InternVL README: find_closest_aspect_ratio and
// dynamic_preprocess), reproduced exactly, including the candidate order that CPython 3.11's set iteration gives it.
package org.vlmr1.module.internvl;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The grid of {@code imageSize x imageSize} tiles InternVL cuts an image into. InternVL builds its candidate grids as
 * {@code sorted(set(...), key=i*j)}, and on an exactly equal aspect-ratio difference a later candidate may replace
 * an earlier one, so the choice depends on the order among grids of equal area, which is CPython's set iteration
 * order. That order is reproduced here by simulating CPython 3.11's set, so every choice matches the reference.
 */
public final class TileGrid {
  private TileGrid() {}

  /**
   * A tile grid.
   *
   * @param columns tiles across (Python's {@code i}: the target width is {@code imageSize * columns})
   * @param rows tiles down (Python's {@code j}: the target height is {@code imageSize * rows})
   */
  public record Grid(int columns, int rows) {
    /** The number of crops, {@code columns * rows} (Python's {@code blocks}). */
    public int blocks() {
      return columns * rows;
    }
  }

  private static final ConcurrentHashMap<Long, List<Grid>> CANDIDATES = new ConcurrentHashMap<>();

  /**
   * InternVL's {@code target_ratios} for {@code min_num = minNum, max_num = maxNum}: every grid with
   * {@code minNum <= columns * rows <= maxNum}, sorted by area, grids of equal area in CPython 3.11's set order.
   *
   * @return an unmodifiable list, cached per (minNum, maxNum)
   * @throws IllegalArgumentException unless {@code 1 <= minNum <= maxNum}
   */
  public static List<Grid> candidates(int minNum, int maxNum) {
    if (minNum < 1 || minNum > maxNum) {
      throw new IllegalArgumentException(
          "tile counts need 1 <= min_num <= max_num, got min_num=" + minNum + ", max_num=" + maxNum);
    }
    return CANDIDATES.computeIfAbsent(((long) minNum << 32) | maxNum, k -> buildCandidates(minNum, maxNum));
  }

  /**
   * Python's {@code find_closest_aspect_ratio(w / h, candidates(minNum, maxNum), w, h, imageSize)}: the first grid
   * with the smallest {@code |w/h - columns/rows|}; on an exactly equal difference a later grid replaces it when
   * {@code w * h > 0.5 * imageSize * imageSize * columns * rows}. All in IEEE doubles, evaluated as Python does.
   *
   * @throws IllegalArgumentException when a size is below 1, or unless {@code 1 <= minNum <= maxNum}
   */
  public static Grid choose(int width, int height, int minNum, int maxNum, int imageSize) {
    if (width < 1 || height < 1 || imageSize < 1) {
      throw new IllegalArgumentException("width, height and image_size must be >= 1, got width=" + width
          + ", height=" + height + ", image_size=" + imageSize);
    }
    List<Grid> grids = candidates(minNum, maxNum);
    double aspect = (double) width / height;
    long area = (long) width * height;
    double bestDiff = Double.POSITIVE_INFINITY;
    Grid best = new Grid(1, 1);
    for (Grid g : grids) {
      double diff = Math.abs(aspect - (double) g.columns() / g.rows());
      if (diff < bestDiff) {
        bestDiff = diff;
        best = g;
      } else if (diff == bestDiff && areaExceeds(area, imageSize, g)) {
        best = g;
      }
    }
    return best;
  }

  /**
   * The number of images dynamic_preprocess returns: the grid's crops, plus one thumbnail when
   * {@code useThumbnail} and the grid is not a single tile.
   */
  public static int numTiles(Grid g, boolean useThumbnail) {
    int blocks = g.blocks();
    return useThumbnail && blocks != 1 ? blocks + 1 : blocks;
  }

  /**
   * Python's {@code area > 0.5 * image_size * image_size * i * j}: the right side is a float product evaluated left
   * to right; Python compares an int with a float exactly (no rounding of the int), hence BigDecimal.
   */
  private static boolean areaExceeds(long area, int imageSize, Grid g) {
    double half = 0.5 * imageSize * imageSize * g.columns() * g.rows();
    return new BigDecimal(area).compareTo(new BigDecimal(half)) > 0;
  }

  /** {@code sorted(set(generator), key=i*j)}: the set's iteration order, then a stable sort by area. */
  private static List<Grid> buildCandidates(int minNum, int maxNum) {
    CPythonSet set = new CPythonSet();
    for (Grid g : firstOccurrences(minNum, maxNum)) {
      set.add(g);
    }
    List<Grid> order = set.iterationOrder();
    order.sort(Comparator.comparingLong(g -> (long) g.columns() * g.rows())); // List.sort is stable (TimSort)
    return List.copyOf(order);
  }

  /**
   * The grids in the order InternVL's generator
   * {@code for n in range(min, max+1) for i in range(1, n+1) for j in range(1, n+1) if min <= i*j <= max} first
   * yields them. Its repeats find the grid already in the set and change nothing there, so only first occurrences
   * matter; listing them directly keeps the cost near O(max log max) instead of the generator's O(max^3). A grid
   * first appears at {@code n = max(minNum, i, j)}, and within one n in (i, j) lexicographic order.
   */
  private static List<Grid> firstOccurrences(int minNum, int maxNum) {
    List<Grid> out = new ArrayList<>();
    for (int i = 1; i <= minNum; i++) { // n == minNum: every i, j <= minNum
      addColumn(out, i, 1, minNum, minNum, maxNum);
    }
    for (long n = (long) minNum + 1; n <= maxNum; n++) { // n > minNum: only grids with max(i, j) == n are new
      long lastI = Math.min(n - 1, maxNum / n);
      for (long i = 1; i <= lastI; i++) {
        addIfInRange(out, i, n, minNum, maxNum);
      }
      addColumn(out, (int) n, 1, n, minNum, maxNum);
    }
    return out;
  }

  /** Appends (i, j) for j = fromJ..toJ in order, keeping those with minNum <= i*j <= maxNum. */
  private static void addColumn(List<Grid> out, int i, long fromJ, long toJ, int minNum, int maxNum) {
    long first = Math.max(fromJ, (minNum + (long) i - 1) / i); // ceil(minNum / i)
    long last = Math.min(toJ, maxNum / i);
    for (long j = first; j <= last; j++) {
      out.add(new Grid(i, (int) j));
    }
  }

  private static void addIfInRange(List<Grid> out, long i, long j, int minNum, int maxNum) {
    long area = i * j;
    if (area >= minNum && area <= maxNum) {
      out.add(new Grid((int) i, (int) j));
    }
  }

  /**
   * CPython 3.11's set (Objects/setobject.c) restricted to adds of distinct 2-tuples of small ints, kept so that its
   * iteration order (table slot order) can be read back. Why simulate it: the order among equal-area grids in
   * InternVL's target_ratios is whatever this table yields, and only reproducing the table gives it exactly for any
   * (min_num, max_num). Mirrors set_add_entry (9 linear probes, then perturbed probing), the resize rule and
   * set_table_resize's re-insertion with set_insert_clean. No deletions happen, so there are no dummy slots.
   */
  private static final class CPythonSet {
    private static final int MINSIZE = 8; // PySet_MINSIZE
    private static final int LINEAR_PROBES = 9;
    private static final int PERTURB_SHIFT = 5;

    private Grid[] keys = new Grid[MINSIZE];
    private long[] hashes = new long[MINSIZE];
    private int mask = MINSIZE - 1;
    private int fill;
    private int used;

    /** set_add_entry: adds the grid unless present; resizes once fill reaches 3/5 of the table. */
    void add(Grid key) {
      long hash = tupleHash(key.columns(), key.rows());
      int slot = findSlot(keys, hashes, mask, hash, key);
      if (keys[slot] != null) {
        return; // found_active: already in the set
      }
      keys[slot] = key;
      hashes[slot] = hash;
      fill++;
      used++;
      if ((long) fill * 5 >= (long) mask * 3) {
        resize(used > 50000 ? (long) used * 2 : (long) used * 4);
      }
    }

    /** The order `for x in set` yields: table slots in index order. */
    List<Grid> iterationOrder() {
      List<Grid> out = new ArrayList<>(used);
      for (Grid k : keys) {
        if (k != null) {
          out.add(k);
        }
      }
      return out;
    }

    /**
     * The probe sequence shared by set_add_entry and set_insert_clean: from i = hash & mask, look at slot i and, when
     * i + 9 <= mask, the 9 slots after it; then perturb >>= 5, i = (i*5 + 1 + perturb) & mask (from the probe's start
     * i, not from the last linearly probed slot). Returns the slot holding an equal key or the first empty one.
     */
    private static int findSlot(Grid[] keys, long[] hashes, int mask, long hash, Grid key) {
      long perturb = hash; // size_t: shifted unsigned
      long i = hash & mask;
      while (true) {
        int probes = i + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
        for (int s = (int) i; s <= i + probes; s++) {
          if (keys[s] == null || (hashes[s] == hash && keys[s].equals(key))) {
            return s;
          }
        }
        perturb >>>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
      }
    }

    /**
     * set_table_resize: the new size is the smallest power of two (from 8) strictly above minUsed; the old entries
     * are re-inserted in old-table order (set_insert_clean, which probes like set_add_entry).
     */
    private void resize(long minUsed) {
      int newSize = MINSIZE;
      while (newSize <= minUsed) {
        newSize <<= 1;
      }
      Grid[] oldKeys = keys;
      long[] oldHashes = hashes;
      keys = new Grid[newSize];
      hashes = new long[newSize];
      mask = newSize - 1;
      for (int s = 0; s < oldKeys.length; s++) {
        if (oldKeys[s] != null) {
          int slot = findSlot(keys, hashes, mask, oldHashes[s], oldKeys[s]);
          keys[slot] = oldKeys[s];
          hashes[slot] = oldHashes[s];
        }
      }
      fill = used;
    }

    private static final long XXPRIME_1 = 0x9E3779B185EBCA87L; // 11400714785074694791
    private static final long XXPRIME_2 = 0xC2B2AE3D27D4EB4FL; // 14029467366897019727
    private static final long XXPRIME_5 = 0x27D4EB2F165667C5L; // 2870177450012600261

    /**
     * CPython 3.11 tuplehash (Objects/tupleobject.c, xxHash-based) of (a, b) on a 64-bit build. hash(int) is the int
     * itself for 0 <= n < 2^61 - 1, which covers every int here. Java's long arithmetic wraps like Py_uhash_t.
     */
    static long tupleHash(long a, long b) {
      long acc = XXPRIME_5;
      for (long lane : new long[] {a, b}) {
        acc += lane * XXPRIME_2;
        acc = Long.rotateLeft(acc, 31);
        acc *= XXPRIME_1;
      }
      acc += 2L ^ (XXPRIME_5 ^ 3527539L); // len ^ (XXPRIME_5 ^ 3527539)
      return acc == -1L ? 1546275796L : acc;
    }
  }
}
