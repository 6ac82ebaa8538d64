// A checkpointed decoder pass (--gradient_checkpointing) keeps exactly one (B, L, H) tensor per decoder layer plus the
// final norm's input, none with autograd history, and gives the plain pass's hidden states and gradients; its peak
// resident memory beside the plain pass's is printed (a measurement, never asserted: RSS is noisy).
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;

class CheckpointedPassTest {
  /** Random ids (B, L) below 1000 (text only) and a left-padded mask: row b has b pads. */
  private static Tensor[] batch(java.util.Random rnd, int b, int l) {
    long[] ids = new long[b * l];
    long[] mask = new long[b * l];
    for (int i = 0; i < b * l; i++) {
      ids[i] = rnd.nextInt(1000);
      mask[i] = i % l >= i / l ? 1 : 0;
    }
    return new Tensor[] {torch.tensor(ids).reshape(b, l), torch.tensor(mask).reshape(b, l)};
  }

  @Test
  void keepsOneInputPerLayerAndMatchesThePlainPass(@TempDir Path dir) throws Exception {
    long seed = new java.util.Random().nextLong();
    System.out.println("CheckpointedPassTest seed " + seed);
    Path ckpt = dir.resolve("tiny");
    QwenTiny.Spec spec = new QwenTiny.Spec(32, 3, 4, 2, 64, 1, 32, 2, seed);
    QwenTiny.write(spec, ckpt);
    int b = 3;
    int l = 12;
    int from = 5;
    try (QwenVlModel model = QwenVlModel.load(ckpt); PointerScope s = new PointerScope()) {
      model.namedParameters().values().forEach(t -> t.requires_grad_(t.is_floating_point()));
      Tensor[] in = batch(new java.util.Random(seed), b, l);
      Tensor plain = model.lastHidden(in[0], in[1], Map.of(), from);                          // (B, L - from, H)
      Tensor g = torch.randn(plain.sizes().vec().get());                                        // (B, L - from, H)
      plain.backward(g, new BoolOptional(), false, null);
      Map<String, Tensor> want = grads(model);

      CheckpointedPass ck = model.lastHiddenCheckpointed(in[0], in[1], Map.of(), from);
      List<Tensor> kept = ck.keptInputs();
      assertEquals(spec.numLayers() + 1, kept.size(), "one input per layer plus the final norm's");
      for (Tensor t : kept) {
        assertArrayEquals(new long[] {b, l, spec.hiddenSize()}, t.sizes().vec().get());
        assertFalse(t.requires_grad(), "kept inputs carry no autograd history (no activations behind them)");
      }
      assertTrue(ck.output().is_leaf() && ck.output().requires_grad(), "the output starts the caller's graph");
      assertTrue(torch.allclose(ck.output(), plain.detach(), 1e-5, 1e-6, false), "same hidden states");
      ck.output().backward(g, new BoolOptional(), false, null);
      ck.backward();
      Map<String, Tensor> got = grads(model);
      assertEquals(want.keySet(), got.keySet());
      List<String> bad = new ArrayList<>();
      want.forEach((k, w) -> {
        double scale = w.abs().max().item_double();
        double diff = got.get(k).sub(w).abs().max().item_double();
        if (!(diff <= 1e-5 * scale + 1e-12)) {
          bad.add(k + ": " + diff + " over " + scale);
        }
      });
      assertTrue(bad.isEmpty(), bad.toString());
      assertTrue(want.containsKey("model.embed_tokens.weight"), "the embedding segment is recomputed too");
    }
  }

  /** The parameters' gradients (copies), then zeroed. */
  private static Map<String, Tensor> grads(QwenVlModel model) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    model.namedParameters().forEach((k, v) -> {
      if (v.requires_grad() && v.grad().defined()) {
        out.put(k, v.grad().detach().clone());
        v.mutable_grad().put(new Tensor());
      }
    });
    return out;
  }

  /**
   * Peak resident memory of a forward + backward through the decoder with and without checkpointing, printed. The
   * shape comes from system properties (vlmr1.gc.hidden, .layers, .inter, .batch, .len) for hand runs; the default is
   * small enough for the suite. Run with MALLOC_MMAP_THRESHOLD_=65536 in the environment so freed tensors leave the
   * resident set at once (glibc otherwise keeps them mapped and the figures understate the growth).
   */
  @Test
  void printsPeakMemoryWithAndWithout(@TempDir Path dir) throws Exception {
    int hidden = Integer.getInteger("vlmr1.gc.hidden", 128);
    int layers = Integer.getInteger("vlmr1.gc.layers", 4);
    int inter = Integer.getInteger("vlmr1.gc.inter", 512);
    int b = Integer.getInteger("vlmr1.gc.batch", 4);
    int l = Integer.getInteger("vlmr1.gc.len", 256);
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(new QwenTiny.Spec(hidden, layers, hidden / 32, hidden / 64 > 0 ? hidden / 64 : 1, inter, 1, 32,
        2, 1), ckpt);
    boolean proc = Files.isWritable(Path.of("/proc/self/clear_refs"));
    try (QwenVlModel model = QwenVlModel.load(ckpt)) {
      // the decoder layers train (the embedding stays frozen, so its V x H gradient does not blur the figures)
      model.namedParameters().forEach((k, v) -> v.requires_grad_(k.contains(".layers.")));
      long[] peak = new long[2];
      double[] ms = new double[2];
      pass(model, b, l, true); // warm-up with the smaller pass, so the first measured one is not the JIT's
      // checkpointed first: glibc keeps freed memory mapped, so a plain pass first would hide the second one's growth
      for (int mode = 1; mode >= 0; mode--) {
        System.gc();
        long base = proc ? resetPeak() : 0;
        long t0 = System.nanoTime();
        long keptBytes = pass(model, b, l, mode == 1);
        ms[mode] = (System.nanoTime() - t0) / 1e6;
        peak[mode] = proc ? status("VmHWM:") - base : -1;
        if (mode == 1) {
          assertEquals((long) (layers + 1) * b * l * hidden * 4, keptBytes, "kept: (layers + 1) x B x L x H");
        }
      }
      System.out.printf("gradient checkpointing, decoder H %d, %d layers, I %d, B %d, L %d: peak RSS above the "
          + "pass's start %.1f MiB without, %.1f MiB with (kept inputs %.1f MiB); forward + backward %.0f ms without, "
          + "%.0f ms with%n", hidden, layers, inter, b, l, peak[0] / 1048576.0, peak[1] / 1048576.0,
          (layers + 1.0) * b * l * hidden * 4 / 1048576.0, ms[0], ms[1]);
    }
  }

  /** One forward + backward of sum(hidden * 1e-3) inside its own scope; returns the bytes kept when checkpointed. */
  private static long pass(QwenVlModel model, int b, int l, boolean checkpointed) {
    try (PointerScope s = new PointerScope()) {
      Tensor[] in = batch(new java.util.Random(7), b, l);
      long kept = 0;
      if (checkpointed) {
        CheckpointedPass ck = model.lastHiddenCheckpointed(in[0], in[1], Map.of(), 0);
        kept = ck.keptInputs().stream().mapToLong(Tensor::nbytes).sum();
        ck.output().backward(torch.full_like(ck.output(), new org.bytedeco.pytorch.Scalar(1e-3)),
            new BoolOptional(), false, null);
        ck.backward();
      } else {
        Tensor h = model.lastHidden(in[0], in[1], Map.of(), 0);
        h.backward(torch.full_like(h, new org.bytedeco.pytorch.Scalar(1e-3)), new BoolOptional(), false, null);
      }
      model.namedParameters().values().forEach(v -> {
        if (v.grad().defined()) {
          v.mutable_grad().put(new Tensor());
        }
      });
      return kept;
    }
  }

  private static long resetPeak() throws java.io.IOException {
    Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    return status("VmRSS:");
  }

  private static long status(String key) throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith(key)) {
        return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]) * 1024;
      }
    }
    throw new IllegalStateException(key + " missing from /proc/self/status");
  }
}
