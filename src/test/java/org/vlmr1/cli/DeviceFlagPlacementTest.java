// --device against a machine that has CUDA devices, described by CudaFacts values (this machine has none): a device
// that is there is taken (the old DeviceFlag refused it, "CUDA device N is there, but ... does not yet place the
// model"), one that is not is refused naming the count, and a data-parallel worker of a bare cuda runs on
// cuda:LOCAL_RANK, while cuda:N naming another rank's device is refused.
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.vlmr1.kernels.CudaFacts;
import org.vlmr1.kernels.DeviceSpec;

class DeviceFlagPlacementTest {
  private static final CudaFacts FOUR = new CudaFacts(true, 4, "13.0", "9.10", "580.0");

  @Test
  void anExistingCudaDeviceIsTaken() {
    assertEquals("cuda:3", DeviceFlag.resolve(DeviceSpec.parse("cuda:3"), FOUR).toString());
    assertEquals("cuda:0", DeviceFlag.resolve(DeviceSpec.parse("cuda"), FOUR).toString());
    DeviceSpec.Resolved auto = DeviceFlag.resolve(DeviceSpec.parse("auto"), FOUR);
    assertEquals("cuda:0", auto.toString());
    assertTrue(auto.how().startsWith("auto: cuda:0"), auto.how());
    UsageException e = assertThrows(UsageException.class, () -> DeviceFlag.resolve(DeviceSpec.parse("cuda:4"), FOUR));
    assertTrue(e.getMessage().contains("no CUDA device 4; this machine has 4 (cuda:0 to cuda:3)"), e.getMessage());
  }

  @Test
  void aDataParallelWorkerTakesItsLocalRanksDevice() {
    DeviceSpec.Resolved bare = DeviceFlag.resolve(DeviceSpec.parse("cuda"), FOUR);
    for (int local = 0; local < 4; local++) {
      assertEquals("cuda:" + local, DeviceFlag.forRank("cuda", bare, local, 4, FOUR).toString());
      assertEquals("cuda:" + local, DeviceFlag.forRank("auto", bare, local, 4, FOUR).toString());
    }
    assertSame(bare, DeviceFlag.forRank("cuda", bare, 0, 1, FOUR), "one process keeps its device");
    DeviceSpec.Resolved two = DeviceFlag.resolve(DeviceSpec.parse("cuda:2"), FOUR);
    assertEquals("cuda:2", DeviceFlag.forRank("cuda:2", two, 2, 8, FOUR).toString(), "cuda:N on its own rank");
    UsageException e = assertThrows(UsageException.class, () -> DeviceFlag.forRank("cuda:2", two, 1, 8, FOUR));
    assertTrue(e.getMessage().contains("pass --device cuda, which gives each process cuda:LOCAL_RANK"),
        e.getMessage());
    UsageException none = assertThrows(UsageException.class, () -> DeviceFlag.forRank("cuda", bare, 5, 8, FOUR));
    assertTrue(none.getMessage().startsWith("LOCAL_RANK 5: ") && none.getMessage().contains("no CUDA device 5"),
        none.getMessage());
    DeviceSpec.Resolved cpu = DeviceFlag.resolve(DeviceSpec.CPU, FOUR);
    assertSame(cpu, DeviceFlag.forRank("cpu", cpu, 3, 4, FOUR), "a CPU run stays on the CPU");
  }
}
