// LoRA adapters in the model layer: one linear against x W^T + b + (alpha / r) x (B A)^T computed here, whole models
// with adapters against the same models with W + (alpha / r) B A written into their weights, the off switch against
// the base model, the fresh init, and the target rule on the tiny checkpoints' weight names.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.module.internvl.InternVlModel;
import org.vlmr1.module.internvl.InternVlTiny;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;

class LoraAdaptersTest {
  static final List<String> QWEN_VISION = List.of("visual");
  static final List<String> INTERNVL_VISION = List.of("vision_model");

  static Tensor randn(Random rnd, long... shape) {
    int n = 1;
    for (long s : shape) {
      n *= (int) s;
    }
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) rnd.nextGaussian();
    }
    return torch.tensor(v).reshape(shape);
  }

  static double maxDiff(Tensor a, Tensor b) {
    return a.to(ScalarType.Double).sub(b.to(ScalarType.Double)).abs().max().item_double();
  }

  @Test
  void oneLinearEqualsTheMergedWeightComputedHere() {
    TorchRuntime.load();
    long seed = new Random().nextLong();
    System.out.println("LoraAdaptersTest linear seed " + seed);
    Random rnd = new Random(seed);
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      int r = 3;
      double alpha = 7;
      Tensor x = randn(rnd, 2, 5, 6);                                                         // (B, L, in)
      Tensor w = randn(rnd, 4, 6);                                                            // (out, in)
      Tensor b = randn(rnd, 4);
      Tensor a = randn(rnd, r, 6);
      Tensor bb = randn(rnd, 4, r);
      LoraConfig cfg = new LoraConfig(r, alpha, 0, LoraConfig.TaskType.CAUSAL_LM, null);
      try (LoraAdapters ad = LoraAdapters.of(cfg, Map.of("layer", new Tensor[] {a, bb}))) {
        Tensor got = ad.apply("layer", x, Layers.linear(x, w, b));
        // in float64: x (W + (alpha / r) B A)^T + b
        Tensor merged = w.to(ScalarType.Double).add(torch.matmul(bb.to(ScalarType.Double), a.to(ScalarType.Double))
            .mul(new org.bytedeco.pytorch.Scalar(alpha / r)));
        Tensor want = torch.matmul(x.to(ScalarType.Double), merged.t()).add(b.to(ScalarType.Double));
        double d = maxDiff(want, got);
        System.out.printf("linear with adapter max |diff| %.3g%n", d);
        assertTrue(d < 1e-4, "max |diff| " + d);
        assertTrue(maxDiff(merged, ad.weight("layer", w)) < 1e-5, "merged weight");
        try (LoraAdapters.Off off = ad.off()) {
          assertEquals(0.0, maxDiff(Layers.linear(x, w, b), ad.apply("layer", x, Layers.linear(x, w, b))));
          assertEquals(0.0, maxDiff(w, ad.weight("layer", w)));
        }
        assertTrue(ad.active("layer"), "the switch is back on after close");
        assertEquals(List.of("base_model.model.layer.lora_A.weight", "base_model.model.layer.lora_B.weight"),
            new ArrayList<>(ad.namedParameters().keySet()));
      }
    }
  }

  /**
   * Training passes drop the adapter's input out with the keyed mask (and only there); the widened LM head pair
   * gives h W^T + s (drop(h) A^T) B^T.
   */
  @Test
  void dropoutInTrainingPassesOnly() {
    TorchRuntime.load();
    long seed = new Random().nextLong();
    System.out.println("LoraAdaptersTest dropout seed " + seed);
    Random rnd = new Random(seed);
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      int r = 2;
      double alpha = 6;
      double p = 0.4;
      Tensor x = randn(rnd, 2, 5, 6);                                                         // (B, L, in)
      Tensor w = randn(rnd, 4, 6);
      Tensor a = randn(rnd, r, 6);
      Tensor bb = randn(rnd, 4, r);
      LoraConfig cfg = new LoraConfig(r, alpha, p, LoraConfig.TaskType.CAUSAL_LM, null);
      LoraDropout keys = LoraDropout.of(rnd.nextLong(), 3, 100, torch.ones(new long[] {2, 5},
          new org.bytedeco.pytorch.TensorOptions(ScalarType.Long)));
      Tensor mask = keys.mask("layer", 6, p, ScalarType.Float);                               // (B, L, in)
      double kept = mask.ne(new org.bytedeco.pytorch.Scalar(0)).to(ScalarType.Double).mean().item_double();
      assertTrue(kept > 0 && kept < 1, "some kept, some dropped: " + kept);
      try (LoraAdapters ad = LoraAdapters.of(cfg, Map.of("layer", new Tensor[] {a, bb}))) {
        Tensor base = Layers.linear(x, w, null);
        Tensor plain = torch.matmul(x.to(ScalarType.Double), w.to(ScalarType.Double).t());
        Tensor delta = torch.matmul(bb.to(ScalarType.Double), a.to(ScalarType.Double)).t()
            .mul(new org.bytedeco.pytorch.Scalar(alpha / r));                                   // (in, out)
        Tensor wantTrain = plain.add(torch.matmul(x.mul(mask).to(ScalarType.Double), delta));
        Tensor wantEval = plain.add(torch.matmul(x.to(ScalarType.Double), delta));
        Tensor got;
        try (LoraAdapters.Off t = ad.train(keys)) {
          got = ad.apply("layer", x, base);
          Tensor[] head = ad.headWithDropout("layer", x, w, keys);
          assertEquals(List.of(2L, 5L, 6L + r), List.of(head[0].size(0), head[0].size(1), head[0].size(2)));
          double dh = maxDiff(wantTrain, torch.matmul(head[0], head[1].t()));
          assertTrue(dh < 1e-4, "widened head max |diff| " + dh);
        }
        double dt = maxDiff(wantTrain, got);
        double de = maxDiff(wantEval, ad.apply("layer", x, base));
        System.out.printf("dropout: training pass max |diff| %.3g, outside %.3g%n", dt, de);
        assertTrue(dt < 1e-4 && de < 1e-4, dt + " " + de);
        assertTrue(maxDiff(wantTrain, wantEval) > 1e-3, "the mask matters");
      }
    }
  }

  /**
   * A packed module computed in pieces (InternLM2's wqkv as q, k, v: 2 KV groups of [2 q heads, k, v] x head_dim 3
   * rows): put back in packed row order, the pieces' outputs are x W^T + (alpha / r) (drop(x) A^T) B^T of the one
   * adapter, with one dropout mask (the module's) in a training pass, as PEFT computes it on the packed layer.
   */
  @Test
  void packedPiecesAddThePackedModulesTerm() {
    TorchRuntime.load();
    long seed = new Random().nextLong();
    System.out.println("LoraAdaptersTest pieces seed " + seed);
    Random rnd = new Random(seed);
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      int r = 2;
      double alpha = 3;
      double p = 0.5;
      long kv = 2;
      long hd = 3;
      long rows = 4 * hd;                                                                     // (g + 2) x hd, g = 2
      Tensor x = randn(rnd, 2, 5, 6);                                                         // (B, L, in)
      Tensor w = randn(rnd, kv * rows, 6);                                                    // (packed out, in)
      Tensor a = randn(rnd, r, 6);
      Tensor bb = randn(rnd, kv * rows, r);
      String m = "model.layers.0.attention.wqkv";
      LoraPart[] parts = {new LoraPart(m, (int) kv, rows, 0, 2 * hd), new LoraPart(m, (int) kv, rows, 2 * hd, hd),
          new LoraPart(m, (int) kv, rows, 3 * hd, hd)};
      LoraDropout keys = LoraDropout.of(rnd.nextLong(), 1, 9, torch.ones(new long[] {2, 5},
          new org.bytedeco.pytorch.TensorOptions(ScalarType.Long)));
      try (LoraAdapters ad = LoraAdapters.of(new LoraConfig(r, alpha, p, LoraConfig.TaskType.CAUSAL_LM, null),
          Map.of(m, new Tensor[] {a, bb}))) {
        for (boolean train : new boolean[] {false, true}) {
          Tensor[] out = new Tensor[3];
          try (LoraAdapters.Off t = train ? ad.train(keys) : null) {
            for (int i = 0; i < 3; i++) {
              out[i] = ad.apply(parts[i], x, Layers.linear(x, parts[i].rows(w), null));    // (B, L, kv x len)
            }
          }
          // back to packed order: per KV group [q rows, k rows, v rows]
          Tensor packed = torch.cat(new org.bytedeco.pytorch.TensorVector(out[0].reshape(2, 5, kv, 2 * hd),
              out[1].reshape(2, 5, kv, hd), out[2].reshape(2, 5, kv, hd)), 3).reshape(2, 5, kv * rows);
          Tensor in = train ? x.mul(keys.mask(m, 6, p, ScalarType.Float)) : x;
          Tensor want = torch.matmul(x.to(ScalarType.Double), w.to(ScalarType.Double).t()).add(torch.matmul(
              in.to(ScalarType.Double), torch.matmul(bb.to(ScalarType.Double), a.to(ScalarType.Double)).t())
              .mul(new org.bytedeco.pytorch.Scalar(alpha / r)));
          double d = maxDiff(want, packed);
          System.out.printf("pieces (%s) vs packed max |diff| %.3g%n", train ? "training" : "eval", d);
          assertTrue(d < 1e-4, (train ? "training" : "eval") + " pass: " + d);
        }
      }
    }
  }

  /**
   * InternVL with LoRA dropout on its default targets (mlp1 included, the VLM-R1 default that used to be refused):
   * in a training pass each sample's hidden states are the same whether it runs in a padded batch or alone as that
   * global sample (its mlp1 masks are keyed by the sample and the image tokens' positions, not by the batch's tiles),
   * and mlp1's dropout acts (with only mlp1's B non-zero, the training pass differs from an evaluation pass).
   */
  @Test
  void internVlMlp1DropoutIsKeyedBySampleAndPosition(@TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("LoraAdaptersTest internvl dropout seed " + seed);
    Random rnd = new Random(seed);
    InternVlTiny.write(new InternVlTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 56, 2, rnd.nextLong()), dir);
    try (InternVlModel model = InternVlModel.load(dir)) {
      LoraAdapters ad = model.addLora(new LoraConfig(2, 5, 0.5, LoraConfig.TaskType.CAUSAL_LM, null),
          INTERNVL_VISION, rnd.nextLong());
      assertTrue(ad.modules().containsAll(List.of("mlp1.1", "mlp1.3")), ad.modules().toString());
      try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        long slot = 151_667; // <IMG_CONTEXT>
        model.setImageSlotId(slot);
        // row 0: 2 pads, 2 tokens, one tile's 4 image tokens, 4 tokens; row 1: 5 tokens, 4 image tokens, 3 tokens
        Tensor ids = ids(rnd, 2, 13, 151_643);
        for (int t = 0; t < 4; t++) {
          ids.select(0, 0).select(0, 4 + t).fill_(new org.bytedeco.pytorch.Scalar(slot));
          ids.select(0, 1).select(0, 5 + t).fill_(new org.bytedeco.pytorch.Scalar(slot));
        }
        Tensor mask = torch.ones(new long[] {2, 13}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Long));
        mask.select(0, 0).narrow(0, 0, 2).fill_(new org.bytedeco.pytorch.Scalar(0));
        Tensor pixels = randn(rnd, 2, 3, 56, 56);                                             // (tiles, 3, S, S)
        long runSeed = rnd.nextLong();
        long first = 40 + rnd.nextInt(100);
        randomiseB(ad, rnd);
        assertBatchEqualsRowsAlone(model, ad, ids, mask, pixels, runSeed, first, "every adapter");
        for (String m : ad.modules()) {
          if (!m.startsWith("mlp1.")) {
            ad.b(m).zero_();
          }
        }
        double acts = assertBatchEqualsRowsAlone(model, ad, ids, mask, pixels, runSeed, first, "mlp1 only");
        assertTrue(acts > 1e-4, "mlp1's dropout changes the training pass: " + acts);
      }
    }
  }

  /**
   * Training-pass final hidden states (the head's merged weight has no dropout, the trainer widens it instead) of a
   * 2-row batch against each row alone (unpadded, as its global sample); returns the largest difference between the
   * batch's training and evaluation passes.
   */
  private static double assertBatchEqualsRowsAlone(InternVlModel model, LoraAdapters ad, Tensor ids, Tensor mask,
      Tensor pixels, long seed, long first, String what) {
    Map<String, Tensor> mm = Map.of("pixel_values", pixels, "image_flags", torch.ones(new long[] {2},
        new org.bytedeco.pytorch.TensorOptions(ScalarType.Long)));
    Tensor batch;
    try (LoraAdapters.Off t = ad.train(LoraDropout.of(seed, 7, first, mask))) {
      batch = model.forward(ids, mask, mm, false).lastHidden();                              // (2, L, H)
    }
    Tensor eval = model.forward(ids, mask, mm, false).lastHidden();
    long l = ids.size(1);
    for (int b = 0; b < 2; b++) {
      long pad = b == 0 ? 2 : 0;
      Tensor rowIds = ids.narrow(0, b, 1).narrow(1, pad, l - pad);
      Tensor rowMask = torch.ones(new long[] {1, l - pad}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Long));
      Map<String, Tensor> rowMm = Map.of("pixel_values", pixels.narrow(0, b, 1), "image_flags",
          torch.ones(new long[] {1}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Long)));
      Tensor alone;
      try (LoraAdapters.Off t = ad.train(LoraDropout.of(seed, 7, first + b, rowMask))) {
        alone = model.forward(rowIds, rowMask, rowMm, false).lastHidden();                    // (1, L - pad, H)
      }
      double d = maxDiff(alone, batch.narrow(0, b, 1).narrow(1, pad, l - pad));
      System.out.printf("%s: row %d in the batch vs alone max |diff| %.3g%n", what, b, d);
      assertTrue(d < 1e-5, what + ": row " + b + " batch vs alone " + d);
    }
    double acts = maxDiff(batch.narrow(0, 1, 1), eval.narrow(0, 1, 1));
    System.out.printf("%s: training vs evaluation pass max |diff| %.3g%n", what, acts);
    return acts;
  }

  /** Random B for every adapter, so every targeted layer contributes. */
  static void randomiseB(LoraAdapters ad, Random rnd) {
    for (String m : ad.modules()) {
      Tensor b = ad.b(m);
      b.copy_(randn(rnd, b.size(0), b.size(1)).mul(new org.bytedeco.pytorch.Scalar(0.05)));
    }
  }

  /** Writes W + (alpha / r) B A into {@code base}'s weights for every adapted module (the merge, in float64). */
  static void mergeInto(DecoderVlModel base, LoraAdapters ad) {
    double s = ad.config().scaling();
    for (String m : ad.modules()) {
      Tensor w = base.namedParameters().get(m + ".weight");
      Tensor delta = torch.matmul(ad.b(m).to(ScalarType.Double), ad.a(m).to(ScalarType.Double))
          .mul(new org.bytedeco.pytorch.Scalar(s));
      w.copy_(w.to(ScalarType.Double).add(delta).to(w.scalar_type()));
    }
  }

  static Tensor ids(Random rnd, int b, int l, long vocab) {
    long[] v = new long[b * l];
    for (int i = 0; i < v.length; i++) {
      v[i] = rnd.nextInt((int) Math.min(vocab, 150_000));
    }
    return torch.tensor(v).reshape(b, l);
  }

  @Test
  void qwenWithAdaptersEqualsMergedWeightsAndOffEqualsBase(@TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("LoraAdaptersTest qwen seed " + seed);
    Random rnd = new Random(seed);
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, rnd.nextLong()), dir);
    // explicit suffixes: the tied LM head stays out, its merge would also change the embedding lookup
    LoraConfig cfg = new LoraConfig(4, 16, 0, LoraConfig.TaskType.CAUSAL_LM,
        List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"));
    try (QwenVlModel model = QwenVlModel.load(dir); QwenVlModel merged = QwenVlModel.load(dir);
        QwenVlModel base = QwenVlModel.load(dir)) {
      LoraAdapters ad = model.addLora(cfg, QWEN_VISION, rnd.nextLong());
      assertEquals(7, ad.modules().size());
      try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        Tensor in = ids(rnd, 2, 6, 151_936);
        Tensor fresh = model.forward(in, null, Map.of(), true).logits();
        Tensor want0 = base.forward(in, null, Map.of(), true).logits();
        assertEquals(0.0, maxDiff(want0, fresh), "B = 0 at init: the adapted model is the base model");
        randomiseB(ad, rnd);
        mergeInto(merged, ad);
        Tensor got = model.forward(in, null, Map.of(), true).logits();
        Tensor want = merged.forward(in, null, Map.of(), true).logits();
        double d = maxDiff(want, got);
        System.out.printf("qwen adapters vs merged max |diff| %.3g, vs base %.3g%n", d, maxDiff(want0, got));
        assertTrue(d < 1e-4, "adapters vs merged: " + d);
        assertTrue(maxDiff(want0, got) > 1e-3, "the adapters change the logits");
        try (LoraAdapters.Off off = ad.off()) {
          assertEquals(0.0, maxDiff(want0, model.forward(in, null, Map.of(), true).logits()), "adapters off = base");
        }
      }
    }
  }

  @Test
  void internVlDefaultTargetsEqualMergedWeightsWithImages(@TempDir Path dir) throws Exception {
    long seed = new Random().nextLong();
    System.out.println("LoraAdaptersTest internvl seed " + seed);
    Random rnd = new Random(seed);
    InternVlTiny.write(new InternVlTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 56, 2, rnd.nextLong()), dir);
    LoraConfig cfg = new LoraConfig(2, 5, 0, LoraConfig.TaskType.CAUSAL_LM, null);
    try (InternVlModel model = InternVlModel.load(dir); InternVlModel merged = InternVlModel.load(dir);
        InternVlModel base = InternVlModel.load(dir)) {
      LoraAdapters ad = model.addLora(cfg, INTERNVL_VISION, rnd.nextLong());
      assertTrue(ad.modules().containsAll(List.of("language_model.lm_head", "mlp1.1", "mlp1.3")),
          ad.modules().toString());
      try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        long slot = 151_667; // <IMG_CONTEXT> of the tiny tokenizer (InternVlTiny's third added token)
        model.setImageSlotId(slot);
        merged.setImageSlotId(slot);
        base.setImageSlotId(slot);
        Tensor in = ids(rnd, 1, 10, 151_674);
        for (int i = 2; i < 6; i++) {
          in.select(1, i).fill_(new org.bytedeco.pytorch.Scalar(slot)); // one tile's 4 image tokens
        }
        Map<String, Tensor> mm = Map.of("pixel_values", randn(rnd, 1, 3, 56, 56),
            "image_flags", torch.ones(new long[] {1}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Long)));
        randomiseB(ad, rnd);
        mergeInto(merged, ad);
        Tensor got = model.forward(in, null, mm, true).logits();
        Tensor want = merged.forward(in, null, mm, true).logits();
        Tensor want0 = base.forward(in, null, mm, true).logits();
        double d = maxDiff(want, got);
        System.out.printf("internvl adapters vs merged max |diff| %.3g, vs base %.3g%n", d, maxDiff(want0, got));
        assertTrue(d < 1e-4, "adapters vs merged: " + d);
        assertTrue(maxDiff(want0, got) > 1e-3, "the adapters change the logits");
        try (LoraAdapters.Off off = ad.off()) {
          assertEquals(0.0, maxDiff(want0, model.forward(in, null, mm, true).logits()), "adapters off = base");
        }
      }
    }
  }

  @Test
  void freshAHasKaimingUniformBoundsAndBIsZero(@TempDir Path dir) throws Exception {
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 3), dir);
    try (QwenVlModel model = QwenVlModel.load(dir); PointerScope s = new PointerScope()) {
      LoraAdapters ad = model.addLora(new LoraConfig(8, 16, 0, LoraConfig.TaskType.CAUSAL_LM, List.of("down_proj")),
          QWEN_VISION, 11);
      Tensor a = ad.a("model.layers.0.mlp.down_proj");                                      // (8, 64)
      assertEquals(List.of(8L, 64L), List.of(a.size(0), a.size(1)));
      double bound = 1 / Math.sqrt(64);
      double max = a.abs().max().item_double();
      double var = a.to(ScalarType.Double).pow(new org.bytedeco.pytorch.Scalar(2)).mean().item_double();
      System.out.printf("A max %.4f (bound %.4f), mean square %.5f (uniform %.5f)%n", max, bound, var,
          bound * bound / 3);
      assertTrue(max <= bound && max > 0.9 * bound);
      assertTrue(Math.abs(var - bound * bound / 3) < 0.25 * bound * bound / 3);
      assertEquals(0.0, ad.b("model.layers.0.mlp.down_proj").abs().max().item_double());
    }
  }

  @Test
  void defaultTargetsOnTheTinyCheckpoints(@TempDir Path dir) throws Exception {
    Path q = dir.resolve("qwen");
    Path i = dir.resolve("internvl");
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 1), q);
    InternVlTiny.write(new InternVlTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 56, 2, 1), i);
    List<String> layer = List.of("mlp.down_proj", "mlp.gate_proj", "mlp.up_proj", "self_attn.k_proj",
        "self_attn.o_proj", "self_attn.q_proj", "self_attn.v_proj");
    try (QwenVlModel model = QwenVlModel.load(q)) {
      List<String> want = new ArrayList<>(List.of("lm_head"));
      layer.forEach(m -> want.add("model.layers.0." + m));
      assertEquals(want, List.copyOf(LoraTargets.select(model.linearModules(), QWEN_VISION, null).keySet()));
      assertEquals(List.of("lm_head", "model.layers.0.self_attn.q_proj"), List.copyOf(LoraTargets.select(
          model.linearModules(), QWEN_VISION, List.of("q_proj", "lm_head")).keySet()));
      assertEquals(List.of("model.layers.0.self_attn.q_proj"), List.copyOf(LoraTargets.select(
          model.linearModules(), QWEN_VISION, List.of("layers.0.self_attn.q_proj")).keySet()));
      assertEquals(List.of("model.layers.0.mlp.gate_proj"), List.copyOf(LoraTargets.select(
          model.linearModules(), QWEN_VISION, List.of("gate_proj")).keySet()),
          "the vision blocks' gate_proj stays out");
      IllegalArgumentException vision = assertThrows(IllegalArgumentException.class,
          () -> LoraTargets.select(model.linearModules(), QWEN_VISION, List.of("qkv")));
      assertTrue(vision.getMessage().contains("visual.blocks.0.attn.qkv"), vision.getMessage());
      IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
          () -> LoraTargets.select(model.linearModules(), QWEN_VISION, List.of("_proj", "roj")));
      assertTrue(none.getMessage().contains("[_proj, roj]"), none.getMessage()); // after a dot only
    }
    try (InternVlModel model = InternVlModel.load(i)) {
      List<String> want = new ArrayList<>(List.of("language_model.lm_head"));
      layer.forEach(m -> want.add("language_model.model.layers.0." + m));
      want.addAll(List.of("mlp1.1", "mlp1.3"));
      assertEquals(want, List.copyOf(LoraTargets.select(model.linearModules(), INTERNVL_VISION, null).keySet()));
    }
  }

  @Test
  void configDefaultsAndRefusals() {
    LoraConfig d = LoraConfig.defaults();
    assertEquals(List.of(16, 32.0, 0.05, "CAUSAL_LM"), List.of(d.r(), d.alpha(), d.dropout(), d.taskType().name()));
    assertEquals(2.0, d.scaling());
    assertThrows(IllegalArgumentException.class, () -> new LoraConfig(0, 32, 0, LoraConfig.TaskType.CAUSAL_LM, null));
    assertThrows(IllegalArgumentException.class, () -> new LoraConfig(4, 32, 1, LoraConfig.TaskType.CAUSAL_LM, null));
    assertThrows(IllegalArgumentException.class, () -> LoraConfig.TaskType.parse("SEQ_CLS"));
  }
}
