// bin/vlmr1 eval: VLM-R1's REC evaluation (src/eval/test_rec_r1.py) of a checkpoint on JSONL data.
package org.vlmr1.cli;

import java.nio.file.Path;
import java.util.List;
import org.vlmr1.data.JsonlDataset;
import org.vlmr1.kernels.DeviceSpec;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.module.HubCache;
import org.vlmr1.module.VlmModule;
import org.vlmr1.trainer.RecEvaluator;

/** The eval command. */
final class EvalCommand implements Command {
  @Override
  public String name() {
    return "eval";
  }

  @Override
  public String summary() {
    return "REC evaluation as VLM-R1's test_rec_r1.py: greedy, accuracy = IoU > 0.5, and mean IoU";
  }

  @Override
  public List<FlagSpec> flags() {
    return ModuleFlags.withProcessing(List.of(
        FlagSpec.value("model", null, "checkpoint folder, or a Hugging Face id (ORG/NAME) already in the local "
            + "cache"),
        FlagSpec.value("data_file_paths", null, "JSONL files, ':'-separated (solutions are [x1, y1, x2, y2])"),
        FlagSpec.value("image_folders", null, "one image folder per data file, ':'-separated"),
        FlagSpec.value("task_type", "rec", "question template"),
        FlagSpec.value("max_new_tokens", "256", "completion length limit"),
        FlagSpec.value("batch_size", "8", "examples per generation batch"),
        FlagSpec.value("output_path", null, "write {accuracy, mean_iou, results: [per example]} as JSON here"),
        FlagSpec.bool("allow_image_paths_outside_folders", "accept image paths outside their image folder"),
        DeviceFlag.SPEC));
  }

  @Override
  public int run(Flags f) throws Exception {
    for (String n : new String[] {"model", "data_file_paths", "image_folders"}) {
      if (f.get(n) == null) {
        throw new UsageException("eval needs --" + n);
      }
    }
    if (f.getInt("batch_size") < 1) { // 0 was "/ by zero"
      throw new UsageException("--batch_size must be >= 1, got " + f.getInt("batch_size"));
    }
    DeviceSpec.Resolved device = DeviceFlag.resolve(f); // a missing CUDA device is refused here
    Path model = HubCache.resolve(f.get("model"), f.env());
    TorchRuntime.load();
    VlmModule module = ModuleFlags.module(model, null, f);
    JsonlDataset.Loaded data = JsonlDataset.load(new JsonlDataset.Spec(TrainCommand.paths(f.get("data_file_paths")),
        TrainCommand.paths(f.get("image_folders")), null, JsonlDataset.OnBadSample.FAIL,
        f.getBoolean("allow_image_paths_outside_folders")), TrainCommand.ACCURACY_METHODS);
    if (data.examples().isEmpty()) { // the old code printed accuracy 0.0000 and mean IoU 0.0000 over 0 examples
      throw new UsageException("eval: " + f.get("data_file_paths") + " holds no examples to evaluate");
    }
    try (org.vlmr1.model.VlmModel m = DeviceFlag.placed(module.loadModel(model), device)) {
      RecEvaluator.Result r = RecEvaluator.evaluate(module, m, data.examples(), f.get("task_type"),
          f.getInt("batch_size"), f.getInt("max_new_tokens"), true);
      System.out.printf("REC accuracy (IoU > 0.5) %.4f, mean IoU %.4f over %d examples%n", r.accuracy(), r.meanIou(),
          r.n());
      if (f.get("output_path") != null) {
        java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("accuracy", r.accuracy());
        out.put("mean_iou", r.meanIou());
        out.put("results", r.samples().stream().map(RecEvaluator.Sample::toJson).toList());
        Path p = Path.of(f.get("output_path"));
        if (p.getParent() != null) {
          java.nio.file.Files.createDirectories(p.getParent());
        }
        java.nio.file.Files.writeString(p, org.vlmr1.util.Json.write(out));
        System.out.println("per-example results: " + p);
      }
    }
    return 0;
  }
}
