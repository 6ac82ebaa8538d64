// Checkpoints.saveStreaming: planned tensors made one at a time in file order, sharded with an index like save, read
// back equal by Weights.load; a made tensor that differs from its plan is refused.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.kernels.TorchRuntime;

class StreamingCheckpointTest {
  @Test
  void shardsAndIndexReadBackEqual(@TempDir Path dir) throws Exception {
    TorchRuntime.load();
    long seed = new Random().nextLong();
    System.out.println("StreamingCheckpointTest seed " + seed);
    torch.manual_seed(seed);
    List<SafeTensorsWriter.Planned> plan = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      plan.add(new SafeTensorsWriter.Planned("t" + (5 - i), "BF16", new long[] {3 + i, 4}));
    }
    Map<String, Tensor> made = new HashMap<>();
    List<String> order = new ArrayList<>();
    // 2 bytes x 4 x (3..8) rows = 24..64 bytes a tensor: 100-byte shards hold one or two
    Checkpoints.saveStreaming(plan, p -> {
      order.add(p.name());
      Tensor t = torch.randn(p.shape()).to(ScalarType.BFloat16);
      made.put(p.name(), t.clone().retainReference()); // outlives the writer's per-tensor scope
      return t;
    }, dir, 100);
    assertEquals(List.of("t0", "t1", "t2", "t3", "t4", "t5"), order, "made once each, in file order");
    assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")));
    assertTrue(!Files.exists(dir.resolve("model.safetensors")));
    try (Weights w = Weights.load(dir, k -> k)) {
      for (SafeTensorsWriter.Planned p : plan) {
        Tensor back = w.get(p.name(), p.shape());
        assertTrue(back.equal(made.get(p.name())), p.name() + " read back differs");
      }
    }
  }

  /** A maker that returns another shape than planned would corrupt every offset after it. */
  @Test
  void aTensorUnlikeItsPlanIsRefused(@TempDir Path dir) {
    TorchRuntime.load();
    List<SafeTensorsWriter.Planned> plan = List.of(new SafeTensorsWriter.Planned("a", "F32", new long[] {2, 3}));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> SafeTensorsWriter.writeStreaming(
        dir.resolve("x.safetensors"), plan, p -> torch.zeros(3, 2)));
    assertTrue(e.getMessage().contains("a was planned as F32 [2, 3] but made as F32 [3, 2]"), e.getMessage());
  }
}
