// adapter_config.json and adapter_model.safetensors as a hostile or broken PEFT folder may hold them: every wrong
// field is an IOException naming the folder and the field, never a NullPointerException or ClassCastException, and a
// rank that does not fit an int is not wrapped into another number.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.kernels.TorchRuntime;

class LoraCheckpointHostileTest {
  private static final String MODULE = "base_model.model.model.layers.0.self_attn.q_proj";

  @TempDir
  Path dir;

  /** An adapter folder with the config's {@code fields} (JSON text inside the braces) and A of {@code aDtype}. */
  private Path adapter(String fields, boolean longA) throws IOException {
    TorchRuntime.load();
    Path d = dir.resolve("a" + System.nanoTime());
    Files.createDirectories(d);
    long seed = System.nanoTime();
    Random r = new Random(seed);
    float[] a = new float[4 * 32];
    float[] b = new float[32 * 4];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) r.nextGaussian();
      b[i] = (float) r.nextGaussian();
    }
    try (PointerScope s = new PointerScope()) {
      Tensor ta = torch.tensor(a).reshape(4, 32);
      SafeTensorsWriter.write(d.resolve(LoraCheckpoint.WEIGHTS), Map.of(MODULE + ".lora_A.weight",
          longA ? ta.to(torch.ScalarType.Long) : ta, MODULE + ".lora_B.weight", torch.tensor(b).reshape(32, 4)));
    }
    Files.writeString(d.resolve(LoraCheckpoint.CONFIG), "{\"peft_type\": \"LORA\", \"task_type\": \"CAUSAL_LM\", "
        + "\"target_modules\": [\"q_proj\"]" + (fields.isEmpty() ? "" : ", " + fields) + "}");
    return d;
  }

  private void assertRefused(String fields, boolean longA, String part) throws IOException {
    Path d = adapter(fields, longA);
    IOException e = assertThrows(IOException.class, () -> LoraCheckpoint.read(d).close(), fields);
    assertTrue(e.getMessage().startsWith(d.toString()), e.getMessage());
    assertTrue(e.getMessage().contains(part), "'" + part + "' in " + e.getMessage());
  }

  /**
   * Old code: a missing r or lora_alpha was a NullPointerException ("Cannot invoke ... Number.intValue()"), a string a
   * ClassCastException, r 2^40 "lora_r must be positive, got 0" (wrapped), r 4.5 read as 4, an I64 lora_A merged.
   */
  @Test
  void wrongFieldsAreNamed() throws IOException {
    assertRefused("\"lora_alpha\": 8", false, "adapter_config.json: r must be a positive integer, got null");
    assertRefused("\"r\": \"4\", \"lora_alpha\": 8", false, "r must be a positive integer, got \"4\"");
    assertRefused("\"r\": 1099511627776, \"lora_alpha\": 8", false, "got 1099511627776");
    assertRefused("\"r\": 4.5, \"lora_alpha\": 8", false, "got 4.5");
    assertRefused("\"r\": 0, \"lora_alpha\": 8", false, "got 0");
    assertRefused("\"r\": 4", false, "lora_alpha must be a number, got null");
    assertRefused("\"r\": 4, \"lora_alpha\": [8]", false, "lora_alpha must be a number, got [8]");
    assertRefused("\"r\": 4, \"lora_alpha\": 8, \"lora_dropout\": \"x\"", false, "lora_dropout must be a number");
    assertRefused("\"r\": 4, \"lora_alpha\": 8", true, "lora_A.weight is I64, not a floating-point tensor");
  }

  @Test
  void aWellFormedAdapterStillReads() throws IOException {
    LoraCheckpoint.read(adapter("\"r\": 4, \"lora_alpha\": 8, \"lora_dropout\": null", false)).close();
  }

  /** Old code: an adapter whose weights file holds no tensor loaded, and merge-lora merged 0 layers with exit 0. */
  @Test
  void anAdapterWithoutLoraTensorsIsRefused() throws IOException {
    Path d = adapter("\"r\": 4, \"lora_alpha\": 8", false);
    TorchRuntime.load();
    try (PointerScope s = new PointerScope()) {
      SafeTensorsWriter.write(d.resolve(LoraCheckpoint.WEIGHTS), Map.of());
    }
    IOException e = assertThrows(IOException.class, () -> LoraCheckpoint.read(d).close());
    assertTrue(e.getMessage().startsWith(d.toString()) && e.getMessage().contains("no LoRA layer"), e.getMessage());
  }
}
