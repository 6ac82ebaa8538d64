// The prefill mask and positions are built with libtorch ops from the (B, L) attention mask (the device seam, issue
// 13): the boolean mask follows the rule entry by entry over random left paddings (pad query rows see themselves
// only, so no row is empty), and the tensor positions equal the rule written out.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.bytedeco.javacpp.BoolPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vlmr1.kernels.TorchRuntime;

class CausalMaskTest {
  @BeforeAll
  static void load() {
    TorchRuntime.load();
  }

  @Test
  void maskAndPositionsFollowTheRule() {
    long seed = new Random().nextLong();
    System.out.println("seed " + seed);
    Random rnd = new Random(seed);
    for (int trial = 0; trial < 20; trial++) {
      int b = 1 + rnd.nextInt(4);
      int l = 1 + rnd.nextInt(12);
      long[] mask = new long[b * l];
      for (int r = 0; r < b; r++) {
        int pad = rnd.nextInt(l); // at least one token per row
        for (int t = pad; t < l; t++) {
          mask[r * l + t] = 1;
        }
      }
      try (PointerScope s = new PointerScope()) {
        Tensor m = Qwen2Decoder.causalMask(torch.tensor(mask).reshape(b, l)).contiguous();   // (B, 1, L, L)
        assertArrayEquals(new long[] {b, 1, l, l}, m.sizes().vec().get());
        assertEquals(ScalarType.Bool, m.scalar_type().intern());
        boolean[] got = new boolean[b * l * l];
        BoolPointer p = new BoolPointer(m.data_ptr()).capacity(got.length);
        for (int i = 0; i < got.length; i++) {
          got[i] = p.get(i);
        }
        for (int r = 0; r < b; r++) {
          for (int q = 0; q < l; q++) {
            boolean padQuery = mask[r * l + q] == 0;
            int visible = 0;
            for (int k = 0; k < l; k++) {
              boolean want = padQuery ? k == q : k <= q && mask[r * l + k] == 1;
              assertEquals(want, got[(r * l + q) * l + k], "row " + r + " query " + q + " key " + k);
              visible += want ? 1 : 0;
            }
            assertEquals(true, visible > 0, "no empty row");
          }
        }
        long[] pos = new long[b * l];
        Rope.positionsFromMask(torch.tensor(mask).reshape(b, l)).contiguous().data_ptr_long().get(pos);
        long[] want = new long[b * l]; // cumsum - 1 over the tokens, 1 at padding, written out
        for (int r = 0; r < b; r++) {
          long c = 0;
          for (int t = 0; t < l; t++) {
            c += mask[r * l + t];
            want[r * l + t] = mask[r * l + t] == 0 ? 1 : c - 1;
          }
        }
        assertArrayEquals(want, pos);
      }
    }
  }
}
