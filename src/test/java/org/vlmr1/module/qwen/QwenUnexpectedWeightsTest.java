// A Qwen checkpoint with a tensor no module reads is refused with the key named, as InternVL checkpoints are.
package org.vlmr1.module.qwen;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.model.SafeTensorsWriter;

class QwenUnexpectedWeightsTest {
  @Test
  void extraTensorIsRefusedByName(@TempDir Path dir) throws Exception {
    long seed = System.nanoTime();
    System.out.println("extraTensorIsRefusedByName: seed " + seed);
    Random rnd = new Random(seed);
    QwenTiny.write(new QwenTiny.Spec(64, 1, 4, 2, 128, 1, 32, 2, seed), dir);
    // A second shard holding one extra tensor, both shards listed in an index (which takes precedence over
    // model.safetensors), so the original file is used as written.
    String extra = "model.layers.0.mlp.extra_" + Integer.toHexString(rnd.nextInt()) + ".weight";
    TorchRuntime.load();
    try (PointerScope s = new PointerScope()) {
      SafeTensorsWriter.write(dir.resolve("extra.safetensors"), Map.of(extra, torch.randn(3, 5)));
    }
    ObjectMapper json = new ObjectMapper();
    ObjectNode index = json.createObjectNode();
    ObjectNode map = index.putObject("weight_map");
    for (String k : SafeTensorsFile.open(dir.resolve("model.safetensors")).entries().keySet()) {
      map.put(k, "model.safetensors");
    }
    map.put(extra, "extra.safetensors");
    json.writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QwenVlModel.load(dir).close());
    assertTrue(e.getMessage().contains(extra) && e.getMessage().contains("unexpected"), e.getMessage());
  }
}
