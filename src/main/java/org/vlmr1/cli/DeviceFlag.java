// --device of train, sft, eval, generate and forward: one spec, one parser and one resolution for all five, so they
// accept and refuse the same spellings with the same messages.
package org.vlmr1.cli;

import org.vlmr1.kernels.CudaFacts;
import org.vlmr1.kernels.DeviceSpec;
import org.vlmr1.model.VlmModel;

/** The --device flag. */
final class DeviceFlag {
  private DeviceFlag() {}

  static final FlagSpec SPEC = FlagSpec.value("device", "cpu", "where the models and kernels run: cpu, cuda, "
      + "cuda:N or auto (cuda:0 when libtorch reports a CUDA device, else cpu); under --nproc_per_node a bare cuda "
      + "(or auto) is cuda:LOCAL_RANK. CUDA needs the -gpu flavour (README \"--device\")");

  /** The requested device, checked for spelling only (nothing loads). */
  static DeviceSpec parse(Flags f) {
    try {
      return DeviceSpec.parse(f.get("device"));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /**
   * The device this command runs on: the parsed request resolved against what libtorch reaches (loads libtorch). An
   * auto choice is said on stdout. A CUDA device that does not exist is refused, naming what is missing.
   */
  static DeviceSpec.Resolved resolve(Flags f) {
    DeviceSpec spec = parse(f);
    // the CPU needs no probe
    DeviceSpec.Resolved r = resolve(spec, spec.kind() == DeviceSpec.Kind.CPU ? new CudaFacts(false, 0, null, null,
        null) : CudaFacts.probe());
    if (spec.kind() == DeviceSpec.Kind.AUTO) {
      System.out.println("device " + r.how());
    }
    return r;
  }

  /** {@link #resolve(Flags)} against given facts: a device that is there is taken, one that is not is refused. */
  static DeviceSpec.Resolved resolve(DeviceSpec spec, CudaFacts cuda) {
    try {
      return spec.resolve(cuda);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /**
   * A data-parallel worker's device: a bare {@code cuda} (or auto on CUDA) is {@code cuda:LOCAL_RANK}, one device per
   * local rank as NCCL takes them (torchrun's convention); a CUDA device named by another index is refused, since
   * the processes of a node would share it.
   */
  static DeviceSpec.Resolved forRank(Flags f, DeviceSpec.Resolved r, int localRank, int worldSize) {
    return !r.isCuda() || worldSize == 1 ? r : forRank(f.get("device"), r, localRank, worldSize, CudaFacts.probe());
  }

  /** {@link #forRank(Flags, DeviceSpec.Resolved, int, int)} for the --device text and what libtorch reaches. */
  static DeviceSpec.Resolved forRank(String device, DeviceSpec.Resolved r, int localRank, int worldSize,
      CudaFacts cuda) {
    if (!r.isCuda() || worldSize == 1) {
      return r;
    }
    if (device.trim().toLowerCase(java.util.Locale.ROOT).startsWith("cuda:") && r.index() != localRank) {
      throw new UsageException("--device " + device + " on the process of LOCAL_RANK " + localRank + " of "
          + worldSize + ": the processes of a node would share that device; pass --device cuda, which gives each "
          + "process cuda:LOCAL_RANK");
    }
    try {
      return new DeviceSpec(DeviceSpec.Kind.CUDA, localRank).resolve(cuda);
    } catch (IllegalArgumentException e) {
      throw new UsageException("LOCAL_RANK " + localRank + ": " + e.getMessage());
    }
  }

  /**
   * {@code model} moved onto {@code device} (weights and LoRA adapters; nothing moves for the CPU), closed when it
   * cannot be.
   */
  static VlmModel placed(VlmModel model, DeviceSpec.Resolved device) {
    try {
      model.moveTo(device.device());
      return model;
    } catch (RuntimeException e) {
      model.close();
      if (e instanceof UnsupportedOperationException) {
        throw new UsageException("--device " + device + ": " + e.getMessage());
      }
      throw e;
    }
  }
}
