// M-RoPE positions built with libtorch ops (QwenRope.ropeIndex over tensors) equal the Java loop's (the oracle) on
// random left-padded batches with 0..3 images per row, and on the edge cases: an all-padding row, no images, generated
// positions marked -1, and image tokens that do not match the grids; and the transformers golden directly.
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.TensorChecks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vlmr1.kernels.TorchRuntime;


class QwenRopeTensorTest {
  static final long IMAGE = 151655;
  static final long VISION_START = 151652;
  static final long VISION_END = 151653;
  static final long PAD = 151643;
  static final int MERGE = 2;

  @BeforeAll
  static void load() {
    TorchRuntime.load();
  }

  /** A batch as the Java oracle takes it: ids and mask (B*L), grids in row-major order. */
  record Batch(long[] ids, long[] mask, int b, int l, List<GridThw> grids) {}

  @Test
  void randomBatchesMatchTheJavaLoop() {
    long seed = new Random().nextLong();
    System.out.println("QwenRopeTensorTest seed " + seed);
    Random rnd = new Random(seed);
    for (int trial = 0; trial < 40; trial++) {
      int b = 1 + rnd.nextInt(4);
      Batch batch = randomBatch(rnd, b, 3, rnd.nextBoolean(), rnd.nextInt(4) == 0);
      assertSame(batch, "seed " + seed + " trial " + trial);
    }
  }

  @Test
  void allPaddingRow() {
    Random rnd = new Random(7);
    Batch a = randomBatch(rnd, 3, 2, false, false);
    long[] mask = a.mask().clone();
    long[] ids = a.ids().clone();
    int l = a.l();
    // Row 1 becomes all padding; its grids leave the batch with it.
    List<GridThw> grids = new ArrayList<>();
    int k = 0;
    for (int row = 0; row < 3; row++) {
      int images = countImages(a.ids(), a.mask(), row, l);
      for (int i = 0; i < images; i++, k++) {
        if (row != 1) {
          grids.add(a.grids().get(k));
        }
      }
    }
    for (int t = 0; t < l; t++) {
      mask[l + t] = 0;
      ids[l + t] = PAD;
    }
    assertSame(new Batch(ids, mask, 3, l, grids), "all-padding row");
  }

  @Test
  void noImages() {
    Random rnd = new Random(11);
    Batch a = randomBatch(rnd, 3, 0, false, false);
    assertTrue(a.grids().isEmpty());
    assertSame(a, "no images");
  }

  @Test
  void generatedPositionsAreText() {
    Random rnd = new Random(13);
    for (int trial = 0; trial < 10; trial++) {
      Batch a = randomBatch(rnd, 1 + rnd.nextInt(4), 3, true, trial % 2 == 0);
      assertSame(a, "generated -1, trial " + trial);
    }
  }

  @Test
  void countMismatchIsRefused() {
    try (PointerScope s = new PointerScope()) {
      long[] ids = {1, VISION_START, IMAGE, IMAGE, IMAGE, VISION_END, 2};
      long[] mask = {1, 1, 1, 1, 1, 1, 1};
      Tensor grid = torch.tensor(new long[] {1, 4, 4}).reshape(1, 3);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QwenRope.ropeIndex(
          torch.tensor(ids).reshape(1, 7), torch.tensor(mask).reshape(1, 7), grid, IMAGE, MERGE));
      assertTrue(e.getMessage().contains("3 image tokens") && e.getMessage().contains("4 in the grids"),
          e.getMessage());
      // Without grids every token is text (transformers' fallback): positions 0..6 on all three streams.
      QwenRope.Positions text = QwenRope.ropeIndex(torch.tensor(ids).reshape(1, 7), torch.tensor(mask).reshape(1, 7),
          null, IMAGE, MERGE);
      assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6},
          TensorChecks.longs(text.positionIds()));
      assertArrayEquals(new long[] {0}, TensorChecks.longs(text.ropeDeltas()));
    }
  }

  /** Independent of the Java loop: transformers 4.50's get_rope_index output on the golden case_a batch. */
  @Test
  void matchesTheHuggingFaceGolden() throws Exception {
    QwenVlModel model = QwenGolden.model();
    try (PointerScope s = new PointerScope()) {
      QwenRope.Positions got = QwenRope.ropeIndex(QwenGolden.i64("input_ids"), QwenGolden.i64("attention_mask"),
          QwenGolden.i64("image_grid_thw"), model.imageSlotId(), model.config().vision().spatialMergeSize());
      assertArrayEquals(QwenGolden.golden().longs("position_ids"), longs(got.positionIds()));
      assertArrayEquals(QwenGolden.golden().longs("rope_deltas"), longs(got.ropeDeltas()));
    }
  }

  private static void assertSame(Batch a, String what) {
    try (PointerScope s = new PointerScope()) {
      QwenRope.Positions want = javaRopeIndex(a.ids(), a.mask(), a.b(), a.l(), a.grids(), IMAGE, VISION_START,
          MERGE);
      Tensor grid = null;
      if (!a.grids().isEmpty()) {
        long[] flat = new long[3 * a.grids().size()];
        for (int i = 0; i < a.grids().size(); i++) {
          flat[3 * i] = a.grids().get(i).t();
          flat[3 * i + 1] = a.grids().get(i).h();
          flat[3 * i + 2] = a.grids().get(i).w();
        }
        grid = torch.tensor(flat).reshape(a.grids().size(), 3);
      }
      QwenRope.Positions got = QwenRope.ropeIndex(torch.tensor(a.ids()).reshape(a.b(), a.l()),
          torch.tensor(a.mask()).reshape(a.b(), a.l()), grid, IMAGE, MERGE);
      assertArrayEquals(new long[] {3, a.b(), a.l()}, got.positionIds().sizes().vec().get(), what);
      assertArrayEquals(new long[] {a.b(), 1}, got.ropeDeltas().sizes().vec().get(), what);
      assertArrayEquals(longs(want.positionIds()), longs(got.positionIds()), what + ": position ids");
      assertArrayEquals(longs(want.ropeDeltas()), longs(got.ropeDeltas()), what + ": rope deltas");
    }
  }

  /**
   * Random left-padded rows: text, then per image vision_start, its block, vision_end and more text. With
   * {@code generated} each row ends in -1 ids (positions the caller hides from the image scan), and with
   * {@code tailMask} some rows mask a tail of them out.
   */
  private static Batch randomBatch(Random rnd, int b, int maxImages, boolean generated, boolean tailMask) {
    List<List<Long>> rows = new ArrayList<>();
    List<GridThw> grids = new ArrayList<>();
    for (int row = 0; row < b; row++) {
      List<Long> tokens = new ArrayList<>();
      text(rnd, tokens, rnd.nextInt(6));
      int images = maxImages == 0 ? 0 : rnd.nextInt(maxImages + 1);
      for (int im = 0; im < images; im++) {
        GridThw g = new GridThw(1 + rnd.nextInt(2), 2 + 2 * rnd.nextInt(6), 2 + 2 * rnd.nextInt(6));
        grids.add(g);
        tokens.add(VISION_START);
        for (long k = 0; k < g.t() * (g.h() / MERGE) * (g.w() / MERGE); k++) {
          tokens.add(IMAGE);
        }
        tokens.add(VISION_END);
        text(rnd, tokens, rnd.nextInt(5));
      }
      if (generated) {
        for (int k = 1 + rnd.nextInt(6); k > 0; k--) {
          tokens.add(-1L);
        }
      }
      rows.add(tokens);
    }
    int l = rows.stream().mapToInt(List::size).max().orElse(0) + rnd.nextInt(4);
    l = Math.max(l, 1);
    long[] ids = new long[b * l];
    long[] mask = new long[b * l];
    for (int row = 0; row < b; row++) {
      List<Long> tokens = rows.get(row);
      int pad = l - tokens.size();
      // Padding ids are whatever the collator wrote; an image id there must not count as an image token.
      long padId = new long[] {PAD, 0, IMAGE}[rnd.nextInt(3)];
      int masked = tailMask && generated && rnd.nextBoolean() ? 1 + rnd.nextInt(2) : 0;
      for (int t = 0; t < l; t++) {
        boolean token = t >= pad;
        ids[row * l + t] = token ? tokens.get(t - pad) : padId;
        mask[row * l + t] = token && t < l - masked ? 1 : 0;
      }
    }
    return new Batch(ids, mask, b, l, grids);
  }

  /** Random text ids that avoid the special ids. */
  private static void text(Random rnd, List<Long> tokens, int n) {
    for (int k = 0; k < n; k++) {
      tokens.add(1L + rnd.nextInt(150_000));
    }
  }

  private static int countImages(long[] ids, long[] mask, int row, int l) {
    int n = 0;
    for (int t = 0; t + 1 < l; t++) {
      if (mask[row * l + t] == 1 && ids[row * l + t] == VISION_START && ids[row * l + t + 1] == IMAGE) {
        n++;
      }
    }
    return n;
  }

  private static long[] longs(Tensor t) {
    long[] out = new long[(int) t.numel()];
    t.contiguous().data_ptr_long().get(out);
    return out;
  }

  /**
   * The oracle: get_rope_index of transformers 4.50 for images, its loops written out in Java (the production code
   * until the tensor version replaced it). Per row, over the unpadded tokens, text runs count up on all
   * three streams; an image's t*(h/2)*(w/2) tokens get (t, row, col) offsets after the text before it; the tail text
   * continues from the last block's maximum + 1. Grids are consumed in batch order.
   */
  static QwenRope.Positions javaRopeIndex(long[] ids, long[] mask, int b, int l, List<GridThw> grids, long imageTokenId,
      long visionStartTokenId, int merge) {
    long[] pos = new long[3 * b * l];
    java.util.Arrays.fill(pos, 1L);
    long[] deltas = new long[b];
    int image = 0;
    for (int row = 0; row < b; row++) {
      int n = 0;
      long[] tokens = new long[l];
      int[] where = new int[l];
      for (int k = 0; k < l; k++) {
        if (mask[row * l + k] == 1) {
          where[n] = k;
          tokens[n++] = ids[row * l + k];
        }
      }
      int images = 0;
      for (int k = 0; k + 1 < n; k++) {
        if (tokens[k] == visionStartTokenId && tokens[k + 1] == imageTokenId) {
          images++;
        }
      }
      long[][] p = new long[3][n];
      int filled = 0;
      long lastMax = -1;
      int st = 0;
      for (int im = 0; im < images; im++) {
        int ed = st;
        while (ed < n && tokens[ed] != imageTokenId) {
          ed++;
        }
        long stIdx = lastMax + 1;
        int textLen = ed - st;
        for (int k = 0; k < textLen; k++) {
          for (int s = 0; s < 3; s++) {
            p[s][filled] = stIdx + k;
          }
          filled++;
        }
        if (textLen > 0) {
          lastMax = stIdx + textLen - 1;
        }
        GridThw g = grids.get(image++);
        long lt = g.t();
        long lh = g.h() / merge;
        long lw = g.w() / merge;
        long blockMax = Long.MIN_VALUE;
        for (long t = 0; t < lt; t++) {
          for (long r = 0; r < lh; r++) {
            for (long c = 0; c < lw; c++) {
              p[0][filled] = 0 + textLen + stIdx; // images: time index 0 (second_per_grid_t = 0)
              p[1][filled] = r + textLen + stIdx;
              p[2][filled] = c + textLen + stIdx;
              blockMax = Math.max(blockMax, Math.max(p[0][filled], Math.max(p[1][filled], p[2][filled])));
              filled++;
            }
          }
        }
        lastMax = blockMax;
        st = (int) (ed + lt * lh * lw);
      }
      if (st < n) {
        long stIdx = lastMax + 1;
        for (int k = 0; k < n - st; k++) {
          for (int s = 0; s < 3; s++) {
            p[s][filled] = stIdx + k;
          }
          filled++;
        }
      }
      long max = Long.MIN_VALUE;
      for (int k = 0; k < n; k++) {
        for (int s = 0; s < 3; s++) {
          pos[(s * b + row) * l + where[k]] = p[s][k];
          max = Math.max(max, p[s][k]);
        }
      }
      deltas[row] = (n == 0 ? 0 : max + 1) - l;
    }
    return new QwenRope.Positions(torch.tensor(pos).reshape(3, b, l), torch.tensor(deltas).reshape(b, 1));
  }

}
