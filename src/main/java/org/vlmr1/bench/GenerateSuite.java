// bin/vlmr1 bench generate: tokens per second of batched generation (greedy, and top-k 50 sampling) on a tiny
// random Qwen2.5-VL checkpoint (real vocabulary), with the KV cache against recomputing the full sequence every step.
package org.vlmr1.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;

/** The generate suite. */
final class GenerateSuite implements BenchSuite {
  @Override
  public String name() {
    return "generate";
  }

  @Override
  public List<BenchCase> cases(BenchOptions o) {
    int batch = (int) (o.rows() > 0 ? o.rows() : 4);
    int newTokens = o.quick() ? 16 : 64;
    int hidden = (int) (o.hidden() > 0 ? o.hidden() : 256);
    List<BenchCase> cases = new ArrayList<>();
    // kv-cache-topk50: VLM-R1's rollout sampling (temperature 1, top-k 50) instead of greedy, same model and prompts.
    for (String impl : new String[] {"kv-cache", "kv-cache-topk50", "no-cache"}) {
      if (o.wants("generate", "f32")) {
        cases.add(new BenchCase("generate-" + impl, "generate", impl, "N=" + batch + " new=" + newTokens
            + " model=tiny-qwen2_5_vl-h" + hidden + "-L4", "f32",
            () -> new Row(batch, newTokens, hidden, !impl.equals("no-cache"), impl.endsWith("topk50"))));
      }
    }
    return cases;
  }

  static final class Row implements Measured {
    final Path dir;
    final QwenVlModel model;
    final ModelInputs inputs;
    final VlmModule module;
    final int newTokens;
    final boolean cache;
    final int batch;
    final SamplingConfig sampling;

    Row(int batch, int newTokens, int hidden, boolean cache, boolean topK50) {
      this.batch = batch;
      this.sampling = topK50 ? new SamplingConfig(false, 1.0, 50, 1.0, 7, newTokens) : SamplingConfig.greedy(newTokens);
      this.newTokens = newTokens;
      this.cache = cache;
      try {
        dir = Files.createTempDirectory("vlmr1-bench-generate");
        QwenTiny.write(new QwenTiny.Spec(hidden, 4, 8, 2, hidden * 3, 2, 64, 2, 1), dir);
        module = VlmModules.forCheckpoint(dir, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
            .withProcessing("max_pixels", 50176L));
        model = QwenVlModel.load(dir);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      List<Conversation> conv = new ArrayList<>();
      List<List<RgbImage>> images = new ArrayList<>();
      java.util.Random rnd = new java.util.Random(5);
      for (int i = 0; i < batch; i++) {
        conv.add(Conversation.userTurn(1, "Please provide the bounding box of the red object number " + i + "."));
        byte[] px = new byte[320 * 240 * 3];
        rnd.nextBytes(px);
        images.add(List.of(new RgbImage(320, 240, px)));
      }
      PointerScope keep = new PointerScope(); // the prepared batch lives for the whole row
      inputs = module.prepareModelInputs(module.preparePrompt(conv), images);
      inputs.inputIds().retainReference();
      inputs.attentionMask().retainReference();
      inputs.multimodal().values().forEach(Tensor::retainReference);
      keep.close();
    }

    @Override
    public void run() {
      if (cache) {
        model.generateCompletions(inputs.inputIds(), inputs.attentionMask(), inputs.multimodal(),
            sampling, new long[] {-1}, module.padTokenId(), 0, 0, false);
        return;
      }
      // Without a cache: a full forward over prompt + generated tokens for every new token.
      try (PointerScope s = new PointerScope()) {
        Tensor ids = inputs.inputIds();
        Tensor mask = inputs.attentionMask();
        for (int t = 0; t < newTokens; t++) {
          Tensor h = model.forward(ids, mask, inputs.multimodal(), false).lastHidden().select(1, ids.size(1) - 1);
          Tensor next = torch.argmax(torch.linear(h, model.lmHead()), new org.bytedeco.pytorch.LongOptional(1), true);
          ids = torch.cat(new TensorVector(ids, next), 1);
          mask = torch.cat(new TensorVector(mask, torch.ones_like(next)), 1);
        }
      }
    }

    @Override
    public double workPerRun() {
      return (double) batch * newTokens;
    }

    @Override
    public String unit() {
      return "tokens/s";
    }

    @Override
    public void close() {
      model.close();
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // a temp folder left behind is harmless
      }
    }
  }
}
