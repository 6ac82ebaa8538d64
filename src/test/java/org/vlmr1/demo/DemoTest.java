// The built-in demo at toy sizes: every stage runs and the run folder holds summary.json (CONVENTIONS.md keys),
// metrics, plots, a checkpoint and the runs/latest link; the SFT warm start lowers its loss; the REC evaluator parses
// boxes as test_rec_r1.py does.
package org.vlmr1.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.data.Example;
import org.vlmr1.data.JsonlDataset;
import org.vlmr1.data.SyntheticRec;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;
import org.vlmr1.module.qwen.QwenVlModel;
import org.vlmr1.trainer.LrSchedulerType;
import org.vlmr1.trainer.SftTrainer;
import org.vlmr1.util.Json;

class DemoTest {

  @Test
  void demoWritesTheRunFolder(@TempDir Path dir) throws Exception {
    Path run = Demo.run(dir, new Demo.Sizes(8, 4, 3, 2, 2, 4, 8, 3e-3, 1e-4, 0.7, 1));
    @SuppressWarnings("unchecked")
    Map<String, Object> summary = (Map<String, Object>) Json.parse(Files.readString(run.resolve("summary.json")));
    for (String k : new String[] {"sft_eval_mean_iou", "grpo_eval_mean_iou", "sft_eval_accuracy",
        "grpo_eval_accuracy", "grpo_reward_first", "grpo_reward_last", "wall_seconds"}) {
      assertTrue(summary.containsKey(k), k);
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> wall = (Map<String, Object>) summary.get("wall_seconds");
    assertEquals(List.of("data", "sft", "grpo", "eval", "total"), List.copyOf(wall.keySet()));
    for (String f : new String[] {"metrics.jsonl", "reward.png", "kl.png", "completion_length.png", "eval-sft.json",
        "eval-grpo.json",
        "checkpoint-2/model.safetensors"}) {
      assertTrue(Files.exists(run.resolve(f)), f);
    }
    assertEquals(run.getFileName(), Files.readSymbolicLink(dir.resolve("latest")));
  }

  @Test
  void sftLowersTheLoss(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("tiny");
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 4), ckpt);
    VlmModule module = VlmModules.forCheckpoint(ckpt, null, ModuleOptions.DEFAULTS.withProcessing("min_pixels", 3136L)
        .withProcessing("max_pixels", 12544L));
    Path jsonl = SyntheticRec.write(dir.resolve("data"), 8, 84, 56, 2);
    List<Example> data = JsonlDataset.load(new JsonlDataset.Spec(List.of(jsonl), List.of(dir.resolve("data")), null,
        JsonlDataset.OnBadSample.FAIL, false)).examples();
    try (QwenVlModel m = QwenVlModel.load(ckpt);
        SftTrainer sft = new SftTrainer(module, m, data, "rec", Demo::answer, 3e-3, 4, 0)) {
      double first = sft.step();
      double last = first;
      for (int i = 0; i < 14; i++) {
        last = sft.step();
      }
      assertTrue(last < first - 1.0, "SFT loss " + first + " -> " + last + " (at least 1 nat lower)");
    }
    try (QwenVlModel m = QwenVlModel.load(ckpt);
        SftTrainer decaying = new SftTrainer(module, m, data, "rec", Demo::answer, 4e-3, 4, 0,
            LrSchedulerType.LINEAR, 4)) {
      double[] lrs = new double[4];
      for (int i = 0; i < 4; i++) {
        lrs[i] = decaying.learningRate();
        decaying.step();
      }
      assertArrayEquals(new double[] {4e-3, 3e-3, 2e-3, 1e-3}, lrs, 1e-12, "linear decay to 0 over totalSteps");
    }
    assertThrows(IllegalArgumentException.class, () -> new SftTrainer(null, null, List.of(), "rec", Demo::answer,
        1e-3, 1, 0, LrSchedulerType.LINEAR, 0));
  }
}
