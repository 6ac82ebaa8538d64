// LoRA on InternVL with an InternLM2 language model (InternVL2.5-8B-style): adapters under PEFT's packed module names
// (attention.wqkv, attention.wo, feed_forward.w1/w2/w3, output), the adapted model against a checkpoint whose packed
// weights hold W + (alpha / r) B A computed here, the literal key list of adapter_model.safetensors, and merge-lora's
// packed weights against the same sum.
package org.vlmr1.module.internvl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.LoraAdapters;
import org.vlmr1.model.LoraCheckpoint;
import org.vlmr1.model.LoraConfig;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.model.SafeTensorsWriter;
import org.vlmr1.util.Json;

class InternLm2LoraTest {
  private static final List<String> VISION = List.of("vision_model");
  private static final long SLOT = 151_667; // <IMG_CONTEXT>

  private static Tensor randn(Random rnd, double scale, long... shape) {
    int n = 1;
    for (long s : shape) {
      n *= (int) s;
    }
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (scale * rnd.nextGaussian());
    }
    return torch.tensor(v).reshape(shape);
  }

  private static double maxDiff(Tensor a, Tensor b) {
    return a.to(ScalarType.Double).sub(b.to(ScalarType.Double)).abs().max().item_double();
  }

  @Test
  void adaptersUnderPeftNamesEqualThePackedMergeAndMergeLoraWritesIt(@TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("InternLm2LoraTest seed " + seed);
    Random rnd = new Random(seed);
    Path ckpt = dir.resolve("lm2");
    // hidden 32, 4 heads of 8 over 2 KV heads: wqkv is (2 * (2 + 2) * 8, 32) = (64, 32)
    InternVlTiny.write(new InternVlTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 56, 2, rnd.nextLong()), ckpt,
        InternVlConfig.NormType.LAYER_NORM, InternVlConfig.LlmArch.INTERNLM2);
    int r = 2;
    double alpha = 5;
    double scaling = alpha / r;
    List<String> modules = List.of("language_model.model.layers.0.attention.wo",
        "language_model.model.layers.0.attention.wqkv", "language_model.model.layers.0.feed_forward.w1",
        "language_model.model.layers.0.feed_forward.w2", "language_model.model.layers.0.feed_forward.w3",
        "language_model.output", "mlp1.1", "mlp1.3");
    Path adapterDir = dir.resolve("adapter");
    Path mergedHere = dir.resolve("merged-here");
    Map<String, Tensor> wantMerged = new LinkedHashMap<>();
    try (InternVlModel model = InternVlModel.load(ckpt); InternVlModel base = InternVlModel.load(ckpt);
        PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      LoraAdapters ad = model.addLora(new LoraConfig(r, alpha, 0, LoraConfig.TaskType.CAUSAL_LM, null), VISION,
          rnd.nextLong());
      assertEquals(modules, ad.modules(), "VLM-R1's rule over InternLM2's PEFT module names");
      assertEquals(List.of(64L, (long) r), List.of(ad.b(modules.get(1)).size(0), ad.b(modules.get(1)).size(1)),
          "one B over the packed wqkv output");
      // hand-set A and B for every adapter
      for (String m : ad.modules()) {
        ad.a(m).copy_(randn(rnd, 0.3, ad.a(m).size(0), ad.a(m).size(1)));
        ad.b(m).copy_(randn(rnd, 0.3, ad.b(m).size(0), ad.b(m).size(1)));
      }
      // the checkpoint with W + (alpha / r) B A written into its packed weights, computed here in float64
      SafeTensorsFile file = SafeTensorsFile.open(ckpt.resolve("model.safetensors"));
      Map<String, Tensor> packed = new LinkedHashMap<>();
      for (String k : file.entries().keySet()) {
        packed.put(k, torch.tensor(file.floats(k)).reshape(file.entry(k).shape()));
      }
      for (String m : modules) {
        Tensor w = packed.get(m + ".weight");                                                  // (out, in)
        Tensor merged = w.to(ScalarType.Double).add(torch.matmul(ad.b(m).to(ScalarType.Double),
            ad.a(m).to(ScalarType.Double)).mul(new Scalar(scaling))).to(ScalarType.Float);
        packed.put(m + ".weight", merged);
        merged.retainReference();
        wantMerged.put(m + ".weight", merged);
      }
      Files.createDirectories(mergedHere);
      try (var files = Files.list(ckpt)) {
        for (Path f : files.toList()) {
          if (!f.getFileName().toString().equals("model.safetensors")) {
            Files.copy(f, mergedHere.resolve(f.getFileName()));
          }
        }
      }
      SafeTensorsWriter.write(mergedHere.resolve("model.safetensors"), packed);
      try (InternVlModel merged = InternVlModel.load(mergedHere)) {
        for (InternVlModel m : List.of(model, base, merged)) {
          m.setImageSlotId(SLOT);
        }
        Tensor ids = torch.tensor(new long[] {151644, 872, 198, 151665, SLOT, SLOT, SLOT, SLOT, 151666, 3838, 374,
            279}).reshape(1, 12);
        Map<String, Tensor> mm = Map.of("pixel_values", randn(rnd, 1, 1, 3, 56, 56), "image_flags",
            torch.ones(new long[] {1}, new TensorOptions(ScalarType.Long)));
        Tensor got = model.forward(ids, null, mm, true).logits();
        Tensor want = merged.forward(ids, null, mm, true).logits();
        Tensor want0 = base.forward(ids, null, mm, true).logits();
        double d = maxDiff(want, got);
        System.out.printf("InternLM2 adapters vs packed merge max |diff| %.3g (max |logit| %.3g), vs base %.3g%n",
            d, want.abs().max().item_double(), maxDiff(want0, got));
        double scale = want.abs().max().item_double();
        assertTrue(d < 1e-5 * scale, "adapters vs the packed W + (alpha / r) B A: " + d + " at max |logit| " + scale);
        assertTrue(maxDiff(want0, got) > 1e-2, "the adapters change the logits");
        try (LoraAdapters.Off off = ad.off()) {
          assertEquals(0.0, maxDiff(want0, model.forward(ids, null, mm, true).logits()), "adapters off = base");
        }
        // the decode steps (fused q/k/v and SwiGLU kernels) add the packed adapters' pieces too
        Tensor mask = torch.ones(new long[] {1, 12}, new TensorOptions(ScalarType.Long));
        org.vlmr1.model.SamplingConfig greedy = org.vlmr1.model.SamplingConfig.greedy(4);
        org.vlmr1.model.Generator.Result gotGen = model.generateCompletions(ids, mask, mm, greedy, new long[] {-1}, 0,
            0, 0, true);
        org.vlmr1.model.Generator.Result wantGen = merged.generateCompletions(ids, mask, mm, greedy, new long[] {-1},
            0, 0, 0, true);
        for (int t = 0; t < wantGen.stepLogits().size(); t++) {
          float[] a = wantGen.stepLogits().get(t)[0];
          float[] b = gotGen.stepLogits().get(t)[0];
          double dt = 0;
          for (int v = 0; v < a.length; v++) {
            dt = Math.max(dt, Math.abs(a[v] - b[v]));
          }
          assertTrue(dt < 1e-5 * scale + 1e-5, "decode step " + t + ": adapters vs packed merge max |diff| " + dt);
        }
      }
      LoraCheckpoint.save(ad, ckpt.toString(), adapterDir);
    }
    // PEFT's files: the literal key list, and target_modules the rule's choice
    List<String> keys = new ArrayList<>(SafeTensorsFile.open(adapterDir.resolve(LoraCheckpoint.WEIGHTS)).entries()
        .keySet());
    java.util.Collections.sort(keys);
    assertEquals(List.of(
        "base_model.model.language_model.model.layers.0.attention.wo.lora_A.weight",
        "base_model.model.language_model.model.layers.0.attention.wo.lora_B.weight",
        "base_model.model.language_model.model.layers.0.attention.wqkv.lora_A.weight",
        "base_model.model.language_model.model.layers.0.attention.wqkv.lora_B.weight",
        "base_model.model.language_model.model.layers.0.feed_forward.w1.lora_A.weight",
        "base_model.model.language_model.model.layers.0.feed_forward.w1.lora_B.weight",
        "base_model.model.language_model.model.layers.0.feed_forward.w2.lora_A.weight",
        "base_model.model.language_model.model.layers.0.feed_forward.w2.lora_B.weight",
        "base_model.model.language_model.model.layers.0.feed_forward.w3.lora_A.weight",
        "base_model.model.language_model.model.layers.0.feed_forward.w3.lora_B.weight",
        "base_model.model.language_model.output.lora_A.weight",
        "base_model.model.language_model.output.lora_B.weight",
        "base_model.model.mlp1.1.lora_A.weight", "base_model.model.mlp1.1.lora_B.weight",
        "base_model.model.mlp1.3.lora_A.weight", "base_model.model.mlp1.3.lora_B.weight"), keys);
    assertEquals(modules, Json.readObject(adapterDir.resolve(LoraCheckpoint.CONFIG)).get("target_modules"));
    // merge-lora's path (the command's calls): the adapter folder read back fits, merges, and saves packed
    Path out = dir.resolve("merged");
    try (InternVlModel model = InternVlModel.load(ckpt)) {
      LoraAdapters read = LoraCheckpoint.read(adapterDir);
      model.attachLora(read);
      assertEquals(modules, model.lora().modules(), "a resume reads back the same modules");
      assertEquals(false, model.mergeLora(), "InternLM2's output head is untied");
      model.save(out);
    }
    SafeTensorsFile orig = SafeTensorsFile.open(ckpt.resolve("model.safetensors"));
    SafeTensorsFile saved = SafeTensorsFile.open(out.resolve("model.safetensors"));
    assertEquals(orig.entries().keySet(), saved.entries().keySet(), "merged weights in InternLM2's packed layout");
    try (PointerScope s = new PointerScope()) {
      for (String k : orig.entries().keySet()) {
        Tensor got = torch.tensor(saved.floats(k));
        if (wantMerged.containsKey(k)) {
          double d = maxDiff(wantMerged.get(k).reshape(-1), got);
          assertTrue(d < 1e-6, k + ": merged vs W + (alpha / r) B A max |diff| " + d);
        } else {
          assertTrue(java.util.Arrays.equals(orig.floats(k), saved.floats(k)), k + " unchanged");
        }
      }
    }
    wantMerged.values().forEach(Tensor::releaseReference);
  }

  /** An explicit list uses PEFT's suffix matching over the same names. */
  @Test
  void explicitTargetsMatchInternLm2Suffixes(@TempDir Path dir) throws Exception {
    InternVlTiny.write(new InternVlTiny.Spec(32, 2, 4, 2, 64, 1, 32, 2, 56, 2, 3), dir,
        InternVlConfig.NormType.LAYER_NORM, InternVlConfig.LlmArch.INTERNLM2);
    try (InternVlModel model = InternVlModel.load(dir)) {
      LoraAdapters ad = model.addLora(new LoraConfig(4, 8, 0.05, LoraConfig.TaskType.CAUSAL_LM,
          List.of("wqkv", "feed_forward.w2", "output")), VISION, 1);
      assertEquals(List.of("language_model.model.layers.0.attention.wqkv",
          "language_model.model.layers.0.feed_forward.w2", "language_model.model.layers.1.attention.wqkv",
          "language_model.model.layers.1.feed_forward.w2", "language_model.output"), ad.modules());
    }
  }
}
