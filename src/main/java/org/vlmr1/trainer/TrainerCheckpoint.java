// What a checkpoint holds besides the weights, for an exact resume: the AdamW state (optimizer.pt, or one shard per
// rank under ZeRO-1), bf16's float32 master weights, and the step and sampler position (resume_state.json). Sampling
// randomness derives from (seed, step, sample index, position), so no RNG state is needed.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.OutputArchive;
import org.vlmr1.distributed.Collectives;
import org.vlmr1.util.Json;
import org.vlmr1.util.JsonConfig;

/** Saves and restores one rank's resume state. */
final class TrainerCheckpoint {
  static final String RESUME_STATE = "resume_state.json";
  private final GrpoConfig cfg;
  private final AdamW optimizer;
  private final MasterWeights masters; // null unless bf16
  private final boolean sharded;       // ZeRO-1 over several processes
  private final Collectives dist;
  private final SamplerCursor sampler;

  TrainerCheckpoint(GrpoConfig cfg, AdamW optimizer, MasterWeights masters, boolean sharded, Collectives dist,
      SamplerCursor sampler) {
    this.cfg = cfg;
    this.optimizer = optimizer;
    this.masters = masters;
    this.sharded = sharded;
    this.dist = dist;
    this.sampler = sampler;
  }

  /** The file name of this rank's optimizer state: optimizer.pt, or one shard per rank under ZeRO-1. */
  private String optimizerFile() {
    return sharded ? "optimizer-rank" + dist.rank() + "-of-" + dist.worldSize() + ".pt" : "optimizer.pt";
  }

  private String masterFile() {
    return optimizerFile().replace("optimizer", "master_weights").replace(".pt", ".safetensors");
  }

  /** Writes this rank's share of the AdamW state (and masters) into {@code dir}. */
  void saveOptimizerShard(Path dir) throws IOException {
    OutputArchive oa = new OutputArchive();
    optimizer.save(oa);
    HashingArchiveWriter.save(oa, dir.resolve(optimizerFile()));
    if (masters != null) {
      masters.save(dir.resolve(masterFile())); // precision the bf16 checkpoint does not carry; resume reads it back
    }
  }

  /**
   * Writes the resume state after {@code step} steps; unsharded, also the optimizer. With {@code modelOnly}
   * (--save_only_model) no optimizer or master files: the step and sampler position are still written, so a later
   * resume can say why it cannot continue the optimizer.
   */
  void save(Path dir, int step, boolean modelOnly) throws IOException {
    if (!sharded && !modelOnly) {
      saveOptimizerShard(dir);
    }
    Files.writeString(dir.resolve(RESUME_STATE), Json.write(
        Map.of("step", step, "epoch", sampler.epoch(), "cursor", sampler.cursor(), "seed", cfg.seed(),
            "world_size", cfg.worldSize(), "zero_stage", sharded ? 1 : 0, "save_only_model", modelOnly)));
  }

  /** Restores the optimizer, masters and sampler position from {@code dir}; returns the step it was saved after. */
  int restore(Path dir) throws IOException {
    Map<String, Object> s = readState(dir);
    if (((Number) s.get("seed")).longValue() != cfg.seed()) {
      throw new IllegalArgumentException(dir + " was written with seed " + s.get("seed") + ", this run uses "
          + cfg.seed());
    }
    if (Boolean.TRUE.equals(s.get("save_only_model"))) {
      throw new IllegalArgumentException(dir + " was saved with --save_only_model: it holds the weights but no "
          + "optimizer state, so this run cannot continue the optimizer; start a new run from it (--model_name_or_path "
          + dir + " with a new --output_dir), or start over here with --resume_from_checkpoint False --overwrite");
    }
    Path file = dir.resolve(optimizerFile());
    if (!Files.isRegularFile(file)) {
      Object w = s.get("world_size");
      Object z = s.get("zero_stage");
      throw new IllegalArgumentException(dir + " has no " + file.getFileName() + ": it was written with "
          + (z != null && ((Number) z).intValue() == 1 ? "the optimizer state sharded over " + w + " processes "
          + "(ZeRO-1); resume with --nproc_per_node " + w + " --zero_stage 1" : "one optimizer.pt; resume without "
          + "--zero_stage 1"));
    }
    InputArchive ia = new InputArchive();
    // onto the device of the parameters it steps (a resumed CUDA run; the CPU as before), whatever it was saved from;
    // read through param_groups: libtorch's deprecated Optimizer::parameters() printed "Warning:
    // Optimizer::parameters() will be removed in PyTorch 1.6" on every resume
    org.bytedeco.pytorch.OptimizerParamGroupVector groups = optimizer.param_groups();
    org.bytedeco.pytorch.TensorVector stepped = groups.size() > 0 ? groups.get(0).params()
        : new org.bytedeco.pytorch.TensorVector();
    ia.load_from(file.toString(), new org.bytedeco.pytorch.DeviceOptional(stepped.size() > 0
        ? stepped.get(0).device() : org.vlmr1.kernels.Devices.cpu()));
    optimizer.load(ia);
    if (masters != null) {
      Path mf = dir.resolve(masterFile());
      if (!Files.isRegularFile(mf)) {
        throw new IllegalArgumentException(dir + " has no " + mf.getFileName() + ": it was not written by a --bf16 "
            + "run; resume without --bf16");
      }
      masters.load(mf);
    }
    sampler.restore(((Number) s.get("epoch")).intValue(), ((Number) s.get("cursor")).intValue());
    return ((Number) s.get("step")).intValue();
  }

  /**
   * resume_state.json with its step, epoch, cursor and seed checked to be integers (and the optional keys' types): a
   * junk or hand-edited file is an IOException naming the file and the key, not a ClassCastException later.
   */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> readState(Path dir) throws IOException {
    Path file = dir.resolve(RESUME_STATE);
    JsonConfig c = JsonConfig.read(file);
    for (String key : new String[] {"step", "epoch", "cursor", "seed"}) {
      c.requireLong(key);
    }
    c.getLong("world_size", 1);
    c.getLong("zero_stage", 0);
    c.getBoolean("save_only_model", false);
    return (Map<String, Object>) Json.parse(Files.readString(file));
  }
}
