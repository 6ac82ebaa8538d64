// A tensor over 2 GiB loads (issue 13): safetensors bytes go from the file straight into the tensor's native memory
// in chunks, with no int-sized heap buffer (the old loader failed in Math.toIntExact). The file is sparse, so the
// test writes only its header and three marker bytes.
package org.vlmr1.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.kernels.TorchRuntime;

@Tag("slow")
class LargeTensorLoadTest {
  @Test
  void aTensorOverTwoGibLoads(@TempDir Path dir) throws Exception {
    TorchRuntime.load();
    long n = 5L << 29; // 2.5 GiB of U8
    long seed = new Random().nextLong();
    System.out.println("seed " + seed);
    Random rnd = new Random(seed);
    long[] at = {0, (1L << 31) + 1 + rnd.nextInt(1 << 20), n - 1};
    byte[] value = new byte[at.length];
    rnd.nextBytes(value);
    String json = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + n + "],\"data_offsets\":[0," + n + "]}}";
    int padded = (json.length() + 7) / 8 * 8;
    byte[] header = (json + " ".repeat(padded - json.length())).getBytes(StandardCharsets.US_ASCII);
    Path file = dir.resolve("model.safetensors");
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      byte[] len = new byte[8];
      for (int i = 0; i < 8; i++) {
        len[i] = (byte) ((long) header.length >>> (8 * i));
      }
      f.write(len);
      f.write(header);
      f.setLength(8 + header.length + n); // sparse
      for (int i = 0; i < at.length; i++) {
        f.seek(8 + header.length + at[i]);
        f.write(value[i]);
      }
    }
    long t0 = System.nanoTime();
    try (PointerScope s = new PointerScope()) {
      Tensor t = Weights.tensor(SafeTensorsFile.open(file), "big");
      System.out.printf("loaded %d bytes in %.2f s%n", t.nbytes(), (System.nanoTime() - t0) / 1e9);
      assertEquals(n, t.numel());
      for (int i = 0; i < at.length; i++) {
        assertEquals(value[i] & 0xff, t.narrow(0, at[i], 1).to(ScalarType.Int).item_int(), "byte at " + at[i]);
      }
      assertEquals(0, t.narrow(0, 12345, 1).to(ScalarType.Int).item_int(), "the sparse bytes read as zeros");
    }
  }
}
