// --device of train, sft, eval, generate and forward: one spec, one parser and one resolution for all five, so they
// accept and refuse the same spellings with the same messages.
package org.vlmr1.cli;

import org.vlmr1.kernels.CudaFacts;
import org.vlmr1.kernels.DeviceSpec;

/** The --device flag. */
final class DeviceFlag {
  private DeviceFlag() {}

  static final FlagSpec SPEC = FlagSpec.value("device", "cpu", "where the models and kernels run: cpu, cuda, "
      + "cuda:N or auto (cuda:0 when libtorch reports a CUDA device, else cpu). CUDA needs the -gpu flavour (README "
      + "\"--device\"); this build refuses a CUDA device by name (the commands do not place models on it yet) and "
      + "auto stays on the cpu, saying why");

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
   * auto choice is said on stdout. A CUDA device that exists is refused for now when asked for by name (the commands
   * do not yet move the model, the batches and the KV cache onto it, and running on the CPU instead would ignore the
   * flag); auto then says it stays on the CPU, and why.
   */
  static DeviceSpec.Resolved resolve(Flags f, String command) {
    DeviceSpec spec = parse(f);
    if (spec.kind() == DeviceSpec.Kind.CPU) {
      return spec.resolve(new CudaFacts(false, 0, null, null, null)); // the CPU needs no probe
    }
    DeviceSpec.Resolved r;
    CudaFacts facts = CudaFacts.probe();
    try {
      r = spec.resolve(facts);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    if (spec.kind() == DeviceSpec.Kind.AUTO) {
      if (r.isCuda()) {
        r = new DeviceSpec.Resolved("cpu", 0, "auto: cpu (" + facts.summary() + ", but " + command
            + " does not run on CUDA yet)");
      }
      System.out.println("device " + r.how());
    }
    if (r.isCuda()) {
      throw new UsageException("--device " + f.get("device") + ": CUDA device " + r.index() + " is there, but "
          + command + " does not yet place the model, batches and KV cache on CUDA in this build (the CUDA kernels "
          + "and their -gpu natives are built; running them from the commands is not wired yet); use --device cpu");
    }
    return r;
  }
}
