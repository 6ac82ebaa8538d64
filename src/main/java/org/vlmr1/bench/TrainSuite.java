// bin/vlmr1 bench train: one GRPO optimizer step on a tiny Qwen2.5-VL (real vocabulary) with synthetic REC data:
// milliseconds per step and generated tokens per second. The per-stage breakdown of a real run is in its
// metrics.jsonl (time/generate, time/score, time/loss, time/optimizer).
package org.vlmr1.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import org.vlmr1.data.Example;
import org.vlmr1.data.JsonlDataset;
import org.vlmr1.data.SyntheticRec;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.trainer.GrpoConfig;
import org.vlmr1.trainer.GrpoTrainer;
import org.vlmr1.trainer.StepMetrics;

/** The train suite. */
final class TrainSuite implements BenchSuite {
  @Override
  public String name() {
    return "train";
  }

  @Override
  public List<BenchCase> cases(BenchOptions o) {
    int batch = (int) (o.rows() > 0 ? o.rows() : 16);
    int len = o.quick() ? 16 : 32;
    return o.wants("grpoStep", "f32") ? List.of(new BenchCase("grpo-step", "grpoStep", "vlmr1",
        "N=" + batch + " G=4 completion=" + len + " model=tiny-qwen2_5_vl-h64-L2", "f32", () -> new Row(batch, len)))
        : List.of();
  }

  static final class Row implements Measured {
    final Path dir;
    final QwenVlModel policy;
    final QwenVlModel ref;
    final GrpoTrainer trainer;
    final int batch;
    final int len;
    long lastTokens;

    Row(int batch, int len) {
      this.batch = batch;
      this.len = len;
      try {
        dir = Files.createTempDirectory("vlmr1-bench-train");
        Path model = dir.resolve("model");
        QwenTiny.write(new QwenTiny.Spec(64, 2, 4, 2, 128, 2, 64, 2, 0), model);
        Path jsonl = SyntheticRec.write(dir.resolve("data"), 32, 112, 84, 0);
        List<Example> data = JsonlDataset.load(new JsonlDataset.Spec(List.of(jsonl), List.of(dir.resolve("data")),
            null, JsonlDataset.OnBadSample.FAIL, false)).examples();
        VlmModule module = VlmModules.forCheckpoint(model, null, ModuleOptions.DEFAULTS.withPixels(3136L, 12544L));
        policy = QwenVlModel.load(model);
        ref = QwenVlModel.load(model);
        GrpoConfig cfg = GrpoConfig.builder().numGenerations(4).perDeviceTrainBatchSize(batch)
            .maxCompletionLength(len).maxSteps(1000).learningRate(1e-5).temperature(0.7).build();
        trainer = new GrpoTrainer(cfg, module, policy, ref, List.of(module.selectRewardFunction("accuracy", "rec"),
            module.selectRewardFunction("format", "rec")), data, "rec");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public void run() {
      StepMetrics m = trainer.step();
      lastTokens = m.completionTokens();
    }

    @Override
    public double workPerRun() {
      return lastTokens > 0 ? lastTokens : (double) batch * len;
    }

    @Override
    public String unit() {
      return "tokens/s";
    }

    @Override
    public void close() {
      trainer.close();
      policy.close();
      ref.close();
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // a temp folder left behind is harmless
      }
    }
  }
}
