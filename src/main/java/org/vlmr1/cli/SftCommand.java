// bin/vlmr1 sft: supervised warm start (cross-entropy on the answer tokens) with the same data and checkpoints as
// train.
package org.vlmr1.cli;

import java.nio.file.Path;
import java.util.List;
import org.vlmr1.data.JsonlDataset;
import org.vlmr1.kernels.DeviceSpec;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.module.HubCache;
import org.vlmr1.module.VlmModule;
import org.vlmr1.trainer.LrSchedulerType;
import org.vlmr1.trainer.SftTrainer;

/** The sft command. */
final class SftCommand implements Command {
  @Override
  public String name() {
    return "sft";
  }

  @Override
  public String summary() {
    return "supervised warm start on VLM-R1 JSONL data (cross-entropy on the answers); writes a checkpoint";
  }

  @Override
  public List<FlagSpec> flags() {
    return ModuleFlags.withProcessing(List.of(
        FlagSpec.value("model_name_or_path", null, "checkpoint folder, or a Hugging Face id (ORG/NAME) already "
            + "in the local cache"),
        FlagSpec.value("data_file_paths", null, "JSONL files, ':'-separated"),
        FlagSpec.value("image_folders", null, "one image folder per data file, ':'-separated"),
        FlagSpec.value("task_type", null, "question template (rec, ic, odLength, default)"),
        FlagSpec.value("answer_template", "{solution}", "the target completion; {solution} is the example's solution "
            + "(e.g. \"<think></think><answer>{solution}</answer>\")"),
        FlagSpec.value("learning_rate", "1e-5", "AdamW learning rate"),
        FlagSpec.value("max_steps", "100", "optimizer steps"),
        FlagSpec.value("lr_scheduler_type", "linear", "linear (decay to 0 over max_steps), constant or cosine"),
        FlagSpec.value("per_device_train_batch_size", "8", "examples per step"),
        FlagSpec.value("seed", "42", "batch sampling seed"),
        DataFlags.ON_BAD_SAMPLE_SFT,
        DataFlags.ALLOW_OUTSIDE,
        FlagSpec.value("output_dir", null, "where the checkpoint goes"),
        DeviceFlag.SPEC));
  }

  @Override
  public int run(Flags f) throws Exception {
    for (String n : new String[] {"model_name_or_path", "data_file_paths", "image_folders", "output_dir"}) {
      if (f.get(n) == null) {
        throw new UsageException("sft needs --" + n);
      }
    }
    String template = f.get("answer_template");
    if (!template.contains("{solution}")) {
      throw new UsageException("--answer_template must contain {solution}");
    }
    OutputFolder.requireNotAFile(Path.of(f.get("output_dir")), "output_dir");
    DeviceSpec.Resolved device = DeviceFlag.resolve(f); // a missing CUDA device is refused here
    Path model = HubCache.resolve(f.get("model_name_or_path"), f.env());
    TorchRuntime.load();
    VlmModule module = ModuleFlags.module(model, null, f);
    JsonlDataset.Loaded data = JsonlDataset.load(new JsonlDataset.Spec(TrainCommand.paths(f.get("data_file_paths")),
        TrainCommand.paths(f.get("image_folders")), null, DataFlags.onBadSample(f),
        f.getBoolean("allow_image_paths_outside_folders")), TrainCommand.ACCURACY_METHODS);
    System.out.println("data: " + data.summary());
    data.skipped().forEach(s -> System.out.println("  skipped " + s));
    int steps = f.getInt("max_steps");
    if (steps < 1) {
      throw new UsageException("--max_steps must be >= 1, got " + steps);
    }
    LrSchedulerType schedule = f.getChoice("lr_scheduler_type", LrSchedulerType.class, LrSchedulerType::parse);
    try (org.vlmr1.model.VlmModel m = DeviceFlag.placed(module.loadModel(model), device);
        SftTrainer sft = new SftTrainer(module, m, data.examples(), f.get("task_type"),
            e -> template.replace("{solution}", e.solution()), f.getDouble("learning_rate"),
            f.getInt("per_device_train_batch_size"), Long.parseLong(f.get("seed")), schedule, steps,
            DataFlags.onBadSample(f))) {
      for (int i = 1; i <= steps; i++) {
        double loss = sft.step();
        if (i % 10 == 0 || i == steps) {
          System.out.printf("[%d/%d] loss %.4f%n", i, steps, loss);
        }
      }
      m.save(Path.of(f.get("output_dir")));
    }
    System.out.println("saved " + f.get("output_dir"));
    return 0;
  }
}
