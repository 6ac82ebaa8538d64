// --device's parser and resolution (issue 17): every accepted spelling, every refused one with the accepted list, and
// each reason a CUDA request cannot be met, named. On the old code only train had --device, and it refused anything
// but "cpu" with "not supported yet"; this class did not exist (the test does not compile there).
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DeviceSpecTest {
  private static final CudaFacts NO_CUDA_BUILD = new CudaFacts(false, 0, null, null, null);
  private static final CudaFacts NO_DEVICE = new CudaFacts(true, 0, "13.1", null, null);
  private static final CudaFacts TWO = new CudaFacts(true, 2, "13.1", "9.19.0", "580.95.05");

  @Test
  void acceptedSpellings() {
    assertEquals(DeviceSpec.CPU, DeviceSpec.parse("cpu"));
    assertEquals(DeviceSpec.CPU, DeviceSpec.parse(" CPU "));
    assertEquals(new DeviceSpec(DeviceSpec.Kind.CUDA, 0), DeviceSpec.parse("cuda"));
    assertEquals(new DeviceSpec(DeviceSpec.Kind.CUDA, 0), DeviceSpec.parse("cuda:0"));
    assertEquals(new DeviceSpec(DeviceSpec.Kind.CUDA, 3), DeviceSpec.parse("CUDA:3"));
    assertEquals(new DeviceSpec(DeviceSpec.Kind.AUTO, 0), DeviceSpec.parse("auto"));
  }

  @Test
  void refusedSpellingsListTheAcceptedOnes() {
    for (String bad : new String[] {"cuda:-1", "cuda:x", "tpu", "", "cuda:", "gpu", "cuda:1.5", "cuda0", "mps"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.parse(bad), bad);
      assertEquals("--device takes cpu, cuda, cuda:N (N >= 0) or auto, got '" + bad + "'", e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> new DeviceSpec(DeviceSpec.Kind.CUDA, -1));
    assertThrows(IllegalArgumentException.class, () -> new DeviceSpec(DeviceSpec.Kind.CPU, 1));
  }

  @Test
  void cudaRequestsNameWhatIsMissing() {
    DeviceSpec cuda = DeviceSpec.parse("cuda");
    String noBuild = assertThrows(IllegalArgumentException.class, () -> cuda.resolve(NO_CUDA_BUILD)).getMessage();
    assertTrue(noBuild.startsWith("--device cuda: this libtorch build has no CUDA"), noBuild);
    assertTrue(noBuild.contains("CUDA 13.x") && noBuild.contains("cuDNN 9") && noBuild.contains("--device cpu"),
        noBuild);
    String none = assertThrows(IllegalArgumentException.class, () -> cuda.resolve(NO_DEVICE)).getMessage();
    assertTrue(none.startsWith("--device cuda: libtorch has CUDA but sees no CUDA device"), none);
    String two = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.parse("cuda:2").resolve(TWO))
        .getMessage();
    assertEquals("--device cuda:2: no CUDA device 2; this machine has 2 (cuda:0 to cuda:1)", two);
    DeviceSpec.Resolved one = DeviceSpec.parse("cuda:1").resolve(TWO);
    assertEquals("cuda:1", one.toString());
    assertTrue(one.isCuda());
  }

  @Test
  void autoPicksTheFirstCudaDeviceElseTheCpu() {
    DeviceSpec auto = DeviceSpec.parse("auto");
    assertEquals("cuda:0", auto.resolve(TWO).toString());
    assertEquals("auto: cuda:0 (2 CUDA devices, CUDA 13.1)", auto.resolve(TWO).how());
    assertEquals("cpu", auto.resolve(NO_DEVICE).toString());
    assertEquals("auto: cpu (this libtorch build has no CUDA)", auto.resolve(NO_CUDA_BUILD).how());
  }

  /** This machine (the CPU natives of the preset): auto is the CPU and cuda is refused for the missing CUDA build. */
  @Test
  void thisMachine() {
    CudaFacts here = CudaFacts.probe();
    System.out.println("CUDA here: " + here);
    assertFalse(here.builtWithCuda(), "the project's default build uses pytorch's CPU natives");
    assertEquals("cpu", DeviceSpec.parse("auto").resolve(here).toString());
    assertThrows(IllegalArgumentException.class, () -> DeviceSpec.parse("cuda:0").resolve(here));
  }

  @Test
  void versions() {
    assertEquals("13.1", CudaFacts.cudaVersion(13010));
    assertEquals("12.8", CudaFacts.cudaVersion(12080));
    assertEquals("9.19.0", CudaFacts.cudnnVersion(91900));
    assertEquals("8.9.7", CudaFacts.cudnnVersion(8907));
    assertEquals(null, CudaFacts.cudaVersion(0));
  }
}
