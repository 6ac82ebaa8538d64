// A device that is not the CPU, for placement tests on a machine without a GPU: libtorch's lazy-tensor device
// ("lazy:0") with its TorchScript backend, which keeps real data, runs every op on the CPU underneath, and refuses
// any op that mixes a lazy tensor with a CPU one ("Input tensor is not a lazy tensor: CPUFloatType"), as CUDA refuses
// a CPU operand. (libtorch's "meta" device cannot stand in: its C++ build has no meta kernel for index_select or
// where, so no forward runs, and mm/linear accept a CPU operand beside a meta one without complaint.)
package org.vlmr1.model;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Func;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.TorchRuntime;

/** libtorch's lazy device, its TorchScript backend started once. */
public final class LazyDevice {
  private LazyDevice() {}

  // torch::lazy::InitTorchScriptBackend(), exported by libtorch_cpu.so (pytorch 2.10 preset) but not mapped by the
  // preset
  private static final String INIT = "_ZN5torch4lazy22InitTorchScriptBackendEv";
  private static boolean started;

  /**
   * The lazy device, its backend started on first use; null when this libtorch does not export the backend's
   * initialiser (the tests that need it then skip).
   */
  public static synchronized Device get() {
    if (!started) {
      TorchRuntime.load();
      Loader.load(torch.class);
      Pointer init = Loader.addressof(INIT);
      if (init == null || init.address() == 0) {
        return null;
      }
      // JavaCPP's void() function-pointer peer calls the function whose address is the first word of its struct
      // (javacpp 1.5.13's generated JavaCPP_org_bytedeco_pytorch_Func: ptr, then the Java callback object).
      LongPointer peer = new LongPointer(4);
      peer.put(0, init.address()).put(1, 0).put(2, 0).put(3, 0);
      new Func(peer).call();
      started = true;
    }
    return new Device(torch.DeviceType.Lazy, (byte) 0);
  }
}
