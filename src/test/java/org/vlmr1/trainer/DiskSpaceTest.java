// The free-space check's arithmetic through its seam; the real tmpfs case is RunFolderTest's.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class DiskSpaceTest {

  @Test
  void refusesASaveThatCannotFitNamingTheFolderAndTheBytes() throws Exception {
    long tensors = 1_000_000_000L;
    long need = DiskSpace.needed(tensors);
    assertEquals(tensors + 50_000_000L + (16L << 20), need);
    Path dir = Path.of("some/run");
    DiskSpace.require(dir, tensors, 0, 7, d -> need); // exactly enough
    DiskSpace.NoSpaceException e = assertThrows(DiskSpace.NoSpaceException.class,
        () -> DiskSpace.require(dir, tensors, 0, 7, d -> need - 1));
    assertTrue(e.getMessage().startsWith("no space left on device: " + dir.toAbsolutePath() + " has " + (need - 1)
        + " bytes free, the checkpoint of step 7 needs " + need), e.getMessage());
    // Bytes already on that disk (ZeRO-1 shards written first) are not counted twice.
    DiskSpace.require(dir, tensors, 300, 7, d -> need - 300);
  }
}
