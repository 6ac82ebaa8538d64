// A forward pass holds one decoder layer's temporaries at a time: the peak resident memory of a no-grad pass through
// 24 layers stays near one layer's worth, instead of growing with depth until the caller's PointerScope closes (what
// made the 36-layer 3B reference pass alone ~7 GB).
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.kernels.TorchRuntime;

class LayerScopesTest {
  @Test
  void aDeepForwardPeaksAtAboutOneLayersTemporaries(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(Files.isWritable(Path.of("/proc/self/clear_refs")), "needs Linux's VmHWM reset");
    TorchRuntime.load();
    long seed = new Random().nextLong();
    System.out.println("LayerScopesTest seed " + seed);
    int layers = 24;
    // hidden 128, MLP 2048: per layer and 4 x 512 tokens, gate/up/activation/product are 16 MiB each in float32
    QwenTiny.write(new QwenTiny.Spec(128, layers, 4, 2, 2048, 1, 32, 2, seed), dir.resolve("m"));
    try (QwenVlModel m = QwenVlModel.load(dir.resolve("m"))) {
      Random r = new Random(seed);
      long[] ids = new long[4 * 512];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = r.nextInt(150_000);
      }
      try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        Tensor input = torch.tensor(ids).reshape(4, 512);                                       // (B, L)
        Tensor mask = torch.ones(new long[] {4, 512}).to(ScalarType.Long);                       // (B, L)
        m.lastHidden(input, mask, Map.of()); // warm-up: the allocator's own pools
        long base = rss();
        Files.writeString(Path.of("/proc/self/clear_refs"), "5"); // VmHWM := VmRSS
        Tensor h = m.lastHidden(input, mask, Map.of());                                         // (B, L, H)
        long peak = hwm() - base;
        assertTrue(h.isfinite().all().item_bool());
        System.out.printf("peak above the baseline: %.1f MiB over %d layers%n", peak / 1048576.0, layers);
        // one layer's temporaries are ~100 MiB; every layer's kept to the end would be over 2 GiB
        assertTrue(peak < 700L << 20, "a " + layers + "-layer forward peaked " + (peak >> 20) + " MiB above its "
            + "baseline: layer temporaries are kept until the caller's scope closes");
      }
    }
  }

  private static long rss() throws java.io.IOException {
    return statusKb("VmRSS:") * 1024;
  }

  private static long hwm() throws java.io.IOException {
    return statusKb("VmHWM:") * 1024;
  }

  private static long statusKb(String key) throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith(key)) {
        return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
      }
    }
    throw new IllegalStateException(key + " missing");
  }
}
