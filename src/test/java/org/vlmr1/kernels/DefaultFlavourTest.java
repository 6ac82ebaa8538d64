// The default (CPU) build is unchanged by the -gpu flavour (issue 17): its JNI libraries come from
// org/vlmr1/kernels/linux-x86_64/, it builds no CUDA peer, and the CUDA peer's absence costs the CPU nothing. A
// regression guard: it passes on the old code by design and fails if the CPU build starts writing <platform>-gpu/
// folders or building CudaNative (for example if the gpu profile's settings leaked into the default build).
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class DefaultFlavourTest {
  @Test
  void cpuNativesOnlyInThePlatformFolder() {
    assumeTrue(NativeLoadingTest.expectNative(), "this build skipped the native library (-Djavacpp.skip=true)");
    assumeTrue(System.getProperty("vlmr1.platformExtension", "").isEmpty(), "the -gpu flavour's build");
    assertEquals(KernelBackend.NATIVE, GrpoKernels.backend(), GrpoKernels.describeBackend());
    List<Path> jni = TorchRuntime.mappedLibraries("libjniGrpoNative");
    assertEquals(1, jni.size(), jni.toString());
    assertTrue(jni.get(0).getParent().getFileName().toString().equals("linux-x86_64"), jni.toString());
    for (String folder : new String[] {"linux-x86_64", "linux-x86_64-gpu"}) {
      assertNull(getClass().getResource("/org/vlmr1/kernels/" + folder + "/libjniCudaNative.so"),
          "the CPU build builds no CUDA peer (" + folder + ")");
    }
    assertNull(getClass().getResource("/org/vlmr1/kernels/linux-x86_64-gpu/libjniGrpoNative.so"));
    assertFalse(KernelProviders.cudaKernelsLoaded());
  }
}
