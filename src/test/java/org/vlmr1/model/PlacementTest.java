// --device placement (issue 17) on libtorch's lazy device, the stand-in for CUDA on a machine without a GPU
// (LazyDevice): a model moved there runs its forward pass (vision tower, M-RoPE or 1-D RoPE, decoder, head) and its
// generation (prefill, decode steps, KV cache, tensor sampler) with every tensor on that device, and gives what the
// CPU gives. A tensor left on the CPU (an inverse-frequency table, a vision window index, a decode step's token ids
// or mask) stops the pass with "Input tensor is not a lazy tensor", as CUDA stops it with "Expected all tensors to be
// on the same device". Moving to the CPU keeps the model's very tensors, so a --device cpu run is unchanged.
package org.vlmr1.model;

import org.vlmr1.kernels.Devices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.internvl.InternVlTiny;

class PlacementTest {
  private static Device lazy() {
    Device d = LazyDevice.get();
    Assumptions.assumeTrue(d != null, "this libtorch does not export the lazy TorchScript backend");
    return d;
  }

  private static VlmModule qwen(Path dir, Random rnd) throws Exception {
    return GenerationEngineTest.qwen(dir, 4, 2, rnd);
  }

  private static VlmModule internVl(Path dir, Random rnd) throws Exception {
    InternVlTiny.write(new InternVlTiny.Spec(32, 2, 4, 2, 64, 1, 32, 2, 56, 2, rnd.nextLong()), dir);
    return VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS);
  }

  /** Every tensor of the map lies on {@code device}. */
  private static void assertOn(Device device, Map<String, Tensor> named, String what) {
    named.forEach((k, v) -> assertEquals(Devices.name(device), Devices.name(v.device()), what + " " + k));
  }

  @Test
  void qwenForwardAndGenerationOnAnotherDeviceMatchTheCpu(@TempDir Path dir) throws Exception {
    long seed = Long.getLong("vlmr1.test.seed", new Random().nextLong()); // -Dvlmr1.test.seed replays a run
    System.out.println("PlacementTest qwen seed " + seed);
    Random rnd = new Random(seed);
    forwardAndGeneration(qwen(dir, rnd), dir, rnd, lazy());
  }

  @Test
  void internVlForwardAndGenerationOnAnotherDeviceMatchTheCpu(@TempDir Path dir) throws Exception {
    long seed = Long.getLong("vlmr1.test.seed", new Random().nextLong());
    System.out.println("PlacementTest internvl seed " + seed);
    Random rnd = new Random(seed);
    forwardAndGeneration(internVl(dir, rnd), dir, rnd, lazy());
  }

  private static void forwardAndGeneration(VlmModule module, Path dir, Random rnd, Device device) throws Exception {
    GenerationEngineTest.Case c = GenerationEngineTest.threePrompts(module, rnd);
    SamplingConfig greedy = new SamplingConfig(true, 1.0, 0, 1.0, rnd.nextLong(), 6);
    // The lazy backend's logits differ from the CPU's by ~3e-7, and a tiny random model's logits are so flat that
    // a draw can land that close to a CDF boundary (adjacent ids, seed -> 87376 vs 87377) or the k-th and (k+1)-th
    // logits can be that close (a top-k set flip): such a near-tie is allowed, each side's token checked as the
    // reference sampler's draw from its own logits (GenerationEngineTest.assertSameTokens), and the row compared no
    // further.
    SamplingConfig sampled = new SamplingConfig(false, 1.0, 20, 0.9, rnd.nextLong(), 6);
    try (DecoderVlModel cpu = (DecoderVlModel) module.loadModel(dir);
        DecoderVlModel moved = (DecoderVlModel) module.loadModel(dir);
        PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      module.postModelInit(cpu);
      module.postModelInit(moved);
      moved.moveTo(device);
      assertEquals(Devices.name(device), Devices.name(moved.device()));
      assertOn(device, moved.namedParameters(), "weight");
      ModelInputs in = module.prepareModelInputs(c.prompts(), c.images());
      ModelInputs there = in.to(device);
      assertEquals(Devices.name(device), Devices.name(there.inputIds().device()));
      assertEquals(Devices.name(device), Devices.name(there.attentionMask().device()));
      assertOn(device, there.multimodal(), "batch tensor");
      assertSame(in, in.to(Devices.cpu()), "a CPU batch stays itself");

      Map<String, Tensor> want = cpu.forwardOutputs(in.inputIds(), in.attentionMask(), in.multimodal());
      Map<String, Tensor> got = moved.forwardOutputs(there.inputIds(), there.attentionMask(), there.multimodal());
      assertEquals(want.keySet(), got.keySet());
      for (String k : want.keySet()) {
        assertEquals(Devices.name(device), Devices.name(got.get(k).device()), k + " is computed on the device");
        Tensor g = got.get(k).cpu().to(torch.ScalarType.Double);
        Tensor w = want.get(k).to(torch.ScalarType.Double);
        double diff = g.sub(w).abs().max().item_double();
        System.out.println("PlacementTest " + k + " max |device - cpu| " + diff);
        assertTrue(diff <= 1e-4 * Math.max(1, w.abs().max().item_double()), k + " differs by " + diff);
      }

      for (SamplingConfig sc : List.of(greedy, sampled)) {
        Generator.Result a = cpu.generateCompletions(in.inputIds(), in.attentionMask(), in.multimodal(), sc,
            module.eosTokenIds(), module.padTokenId(), 1, 5, true, c.rowPrompt(), GenerationOptions.DEFAULT, null);
        Generator.Result b;
        try (KvCache cache = moved.newCache(in.inputIds().size(1) + sc.maxNewTokens())) {
          b = moved.generateCompletions(there.inputIds(), there.attentionMask(), there.multimodal(), sc,
              module.eosTokenIds(), module.padTokenId(), 1, 5, true, c.rowPrompt(), GenerationOptions.DEFAULT,
              cache);
          assertEquals(Devices.name(device), Devices.name(cache.keyStorage(0).device()), "the KV cache");
        }
        System.out.println("PlacementTest " + (sc.greedy() ? "greedy" : "sampled"));
        GenerationEngineTest.assertSameTokens(a, b, sc, 1, 5);
      }
    }
  }

  /** Moving to the CPU, where the weights are, keeps the very tensors (a --device cpu run is unchanged). */
  @Test
  void movingToTheCpuKeepsTheTensors(@TempDir Path dir) throws Exception {
    Random rnd = new Random(1);
    VlmModule module = qwen(dir, rnd);
    try (DecoderVlModel m = (DecoderVlModel) module.loadModel(dir)) {
      LoraAdapters a = m.addLora(new LoraConfig(4, 8, 0, LoraConfig.TaskType.CAUSAL_LM, null), List.of("visual"), 3);
      Map<String, Long> before = new java.util.HashMap<>();
      m.namedParameters().forEach((k, v) -> before.put(k, v.data_ptr().address()));
      a.namedParameters().forEach((k, v) -> before.put(k, v.data_ptr().address()));
      m.moveTo(Devices.cpu());
      m.namedParameters().forEach((k, v) -> assertEquals(before.get(k), v.data_ptr().address(), k));
      a.namedParameters().forEach((k, v) -> assertEquals(before.get(k), v.data_ptr().address(), k));
    }
  }

  /** LoRA adapters move with the model and keep requires_grad as leaves (what AdamW then holds). */
  @Test
  void loraAdaptersMoveWithTheModel(@TempDir Path dir) throws Exception {
    Device device = lazy();
    Random rnd = new Random(2);
    VlmModule module = qwen(dir, rnd);
    try (DecoderVlModel m = (DecoderVlModel) module.loadModel(dir)) {
      LoraAdapters a = m.addLora(new LoraConfig(4, 8, 0, LoraConfig.TaskType.CAUSAL_LM, null), List.of("visual"), 3);
      a.namedParameters().values().forEach(t -> t.requires_grad_(true));
      m.moveTo(device);
      assertOn(device, m.namedParameters(), "weight");
      assertOn(device, m.lora().namedParameters(), "adapter");
      m.lora().namedParameters().forEach((k, v) -> assertTrue(v.requires_grad() && v.is_leaf(), k));
    }
  }
}
