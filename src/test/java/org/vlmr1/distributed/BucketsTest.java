// Buckets close before the byte budget would be passed or the dtype changes; an oversized tensor gets its own bucket.
package org.vlmr1.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.vlmr1.kernels.TorchRuntime;

class BucketsTest {
  @Test
  void splitsByBytesAndDtype() {
    TorchRuntime.load();
    try (PointerScope s = new PointerScope()) {
      TensorOptions f32 = new TensorOptions(ScalarType.Float);
      TensorOptions bf16 = new TensorOptions(ScalarType.BFloat16);
      // 40 B, 40 B, 40 B (f32), 20 B (bf16), 400 B (f32), 40 B (f32) with a 100 B budget
      List<org.bytedeco.pytorch.Tensor> t = List.of(torch.zeros(new long[] {10}, f32),
          torch.zeros(new long[] {10}, f32), torch.zeros(new long[] {10}, f32), torch.zeros(new long[] {10}, bf16),
          torch.zeros(new long[] {100}, f32), torch.zeros(new long[] {10}, f32));
      assertEquals(List.of(List.of(0, 1), List.of(2), List.of(3), List.of(4), List.of(5)), Buckets.of(t, 100));
      assertEquals(List.of(), Buckets.of(List.of(), 100));
    }
  }
}
