// Writes libtorch tensors as a safetensors file (the format SafeTensorsFile reads): name-sorted, header padded to a
// multiple of 8 with spaces, raw little-endian data, as the Hugging Face library writes it.
package org.vlmr1.model;

import org.vlmr1.kernels.Devices;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.TensorChecks;
import org.vlmr1.util.FileDigests;

/** Saves named CPU tensors (F32, BF16, F16, I64, I32, U8, BOOL) to a safetensors file. */
public final class SafeTensorsWriter {
  private SafeTensorsWriter() {}

  static String dtypeName(Tensor t) {
    ScalarType st = TensorChecks.dtype(t);
    switch (st) {
      case Float: return "F32";
      case BFloat16: return "BF16";
      case Half: return "F16";
      case Long: return "I64";
      case Int: return "I32";
      case Byte: return "U8";
      case Bool: return "BOOL";
      case Double: return "F64";
      default: throw new IllegalArgumentException("cannot write a " + st + " tensor to safetensors");
    }
  }

  public static void write(Path path, Map<String, Tensor> tensors) throws IOException {
    write(path, tensors, Map.of("format", "pt"));
  }

  public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
    Map<String, Tensor> sorted = new TreeMap<>(tensors);
    Map<String, Object> header = new LinkedHashMap<>();
    header.put("__metadata__", metadata);
    long offset = 0;
    Map<String, Tensor> contiguous = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
      Tensor t = e.getValue().contiguous(); // a device tensor is copied to the host in copy(), one at a time
      contiguous.put(e.getKey(), t);
      long bytes = t.nbytes();
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("dtype", dtypeName(t));
      entry.put("shape", toList(TensorChecks.shape(t)));
      entry.put("data_offsets", List.of(offset, offset + bytes));
      header.put(e.getKey(), entry);
      offset += bytes;
    }
    try (OutputStream out = open(path, header)) {
      byte[] buf = new byte[1 << 20];
      for (Tensor t : contiguous.values()) {
        try (PointerScope scope = new PointerScope()) { // frees the host copy of a device tensor
          copy(t, out, buf);
        }
      }
    }
  }

  /** A tensor's file entry before its data exists: name, safetensors dtype (F32, BF16, ...) and shape. */
  public record Planned(String name, String dtype, long[] shape) {
    public Planned {
      if (!List.of("F32", "BF16", "F16").contains(dtype)) {
        throw new IllegalArgumentException(name + ": planned tensors are F32, BF16 or F16, not " + dtype);
      }
      shape = shape.clone();
    }

    public long nbytes() {
      long n = dtype.equals("F32") ? 4 : 2;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  /**
   * Writes {@code planned} (name-sorted) asking {@code make} for one tensor at a time, so a file far larger than memory
   * is written holding one tensor: the header is built from the plan, then each tensor is made, checked against it,
   * copied out and freed (its own PointerScope).
   */
  public static void writeStreaming(Path path, List<Planned> planned, Function<Planned, Tensor> make)
      throws IOException {
    List<Planned> sorted = new ArrayList<>(planned);
    sorted.sort(Comparator.comparing(Planned::name));
    Map<String, Object> header = new LinkedHashMap<>();
    header.put("__metadata__", Map.of("format", "pt"));
    long offset = 0;
    for (Planned p : sorted) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("dtype", p.dtype());
      entry.put("shape", toList(p.shape()));
      entry.put("data_offsets", List.of(offset, offset + p.nbytes()));
      header.put(p.name(), entry);
      offset += p.nbytes();
    }
    try (OutputStream out = open(path, header)) {
      byte[] buf = new byte[1 << 20];
      for (Planned p : sorted) {
        try (PointerScope scope = new PointerScope()) {
          Tensor t = Devices.host(make.apply(p)).contiguous();
          if (!t.is_cpu() || !dtypeName(t).equals(p.dtype()) || !Arrays.equals(TensorChecks.shape(t), p.shape())) {
            throw new IllegalStateException(p.name() + " was planned as " + p.dtype() + " " + Arrays.toString(
                p.shape()) + " but made as " + dtypeName(t) + " " + Arrays.toString(TensorChecks.shape(t)));
          }
          copy(t, out, buf);
        }
      }
    }
  }

  private static OutputStream open(Path path, Map<String, Object> header) throws IOException {
    byte[] json = new ObjectMapper().writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    byte[] h = new byte[padded];
    System.arraycopy(json, 0, h, 0, json.length);
    for (int i = json.length; i < padded; i++) {
      h[i] = ' ';
    }
    if (path.toAbsolutePath().getParent() != null) {
      Files.createDirectories(path.toAbsolutePath().getParent());
    }
    // hashed on the way: a checkpoint's manifest takes the digest instead of reading the file back
    OutputStream out = FileDigests.hashing(new BufferedOutputStream(Files.newOutputStream(path), 1 << 20), path);
    out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
    out.write(h);
    return out;
  }

  private static void copy(Tensor device, OutputStream out, byte[] buf) throws IOException {
    Tensor t = Devices.host(device).contiguous(); // written from the host: a CUDA tensor is copied once
    BytePointer p = new BytePointer(t.data_ptr()).capacity(t.nbytes());
    for (long pos = 0; pos < t.nbytes(); pos += buf.length) {
      int n = (int) Math.min(buf.length, t.nbytes() - pos);
      p.position(pos).get(buf, 0, n);
      out.write(buf, 0, n);
    }
  }

  private static List<Long> toList(long[] a) {
    List<Long> l = new java.util.ArrayList<>(a.length);
    for (long v : a) {
      l.add(v);
    }
    return l;
  }

}
