// Which provider runs tensors on CUDA (issue 17) when the -gpu natives are absent, as in this build: the libtorch
// composites (which run on the tensors' device, never a copy to the CPU), decided once and said in exactly one line
// naming why. On the old code KernelProviders gave CUDA tensors the composites silently (no line, so the one-line
// assertion fails) and this class did not exist.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CudaKernelChoiceTest {
  @Test
  void withoutTheGpuNativesCudaTensorsGetTheCompositesSaidOnce() {
    TorchRuntime.load();
    List<String> lines = new ArrayList<>();
    CudaKernelChoice choice = new CudaKernelChoice(() -> NativeLibraries.choose("org.vlmr1.kernels.CudaNative",
        "CUDA kernels", "", false), lines::add);
    assumeFalse(choice.provider() == CudaProvider.INSTANCE, "this classpath has the -gpu natives");
    assertSame(KernelProviders.COMPOSITE, choice.provider());
    assertSame(KernelProviders.COMPOSITE, choice.provider());
    assertEquals(1, lines.size(), lines.toString());
    assertTrue(lines.get(0).startsWith("vlmr1: tensors on CUDA run the libtorch composites on their device ("),
        lines.get(0));
    assertTrue(lines.get(0).contains("CUDA kernels unavailable") && lines.get(0).contains("jniCudaNative"),
        lines.get(0));
    // the process's choice agrees, and the CPU keeps its own provider
    assertSame(KernelProviders.COMPOSITE, KernelProviders.forDeviceType("cuda"));
    assertFalse(KernelProviders.cudaKernelsLoaded());
    assertSame(GrpoKernels.backend() == KernelBackend.NATIVE ? NativeProvider.INSTANCE : KernelProviders.COMPOSITE,
        KernelProviders.forDeviceType("cpu"));
  }
}
