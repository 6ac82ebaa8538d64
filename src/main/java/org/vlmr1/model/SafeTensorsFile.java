// Reads the safetensors format (8-byte little-endian header length, JSON header, raw little-endian data) with clear
// errors for truncated files and bad headers: the checkpoint and golden-data reader shared by every family.
package org.vlmr1.model;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.vlmr1.util.FileKinds;
import org.vlmr1.util.Json;

/** The header of a safetensors file and typed access to its tensors' bytes. */
public final class SafeTensorsFile {
  /** One tensor's entry: dtype name (F32, BF16, F16, I64, U8, ...), shape, byte range in the data section. */
  public record Entry(String name, String dtype, long[] shape, long begin, long end) {
    /** The element count; an ArithmeticException when it overflows a long (open refuses such a header). */
    public long numel() {
      long n = 1;
      for (long s : shape) {
        n = Math.multiplyExact(n, s);
      }
      return n;
    }
  }

  private static final long MAX_HEADER = 100L << 20;
  private final Path path;
  private final long dataStart;
  private final Map<String, Entry> entries;

  private SafeTensorsFile(Path path, long dataStart, Map<String, Entry> entries) {
    this.path = path;
    this.dataStart = dataStart;
    this.entries = entries;
  }

  /** Parses the header; checks every entry's range against the file size and its dtype and shape. */
  public static SafeTensorsFile open(Path path) throws IOException {
    if (!Files.isRegularFile(path)) { // a fifo's open would block until a writer comes
      throw new IOException(path + ": not a safetensors file: it " + FileKinds.notAFile(path));
    }
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 8) {
        throw new IOException(path + ": not a safetensors file (" + size + " bytes, no header length)");
      }
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      ch.read(len, 0);
      long n = len.getLong(0);
      if (n <= 0 || n > MAX_HEADER || 8 + n > size) {
        throw new IOException(path + ": bad safetensors header length " + n + " for a file of " + size + " bytes");
      }
      ByteBuffer hb = ByteBuffer.allocate((int) n);
      ch.read(hb, 8);
      JsonNode header;
      try {
        header = new ObjectMapper().readTree(hb.array());
      } catch (IOException e) {
        throw new IOException(path + ": the safetensors header is not valid JSON: " + e.getMessage(), e);
      }
      if (!header.isObject()) {
        throw new IOException(path + ": the safetensors header must be a JSON object, got " + kind(header));
      }
      long dataSize = size - 8 - n;
      Map<String, Entry> entries = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        if (f.getKey().equals("__metadata__")) {
          // the format's metadata is a string-to-string map (the safetensors crate refuses anything else)
          JsonNode meta = f.getValue();
          boolean strings = meta.isObject();
          for (Iterator<JsonNode> v = meta.elements(); strings && v.hasNext(); ) {
            strings = v.next().isTextual();
          }
          if (!strings) {
            throw new IOException(path + ": __metadata__ must be a JSON object of strings, got " + kind(meta));
          }
          continue;
        }
        JsonNode e = f.getValue();
        if (!e.isObject()) {
          throw new IOException(path + ": tensor " + f.getKey() + " must be a JSON object with dtype, shape and "
              + "data_offsets, got " + kind(e));
        }
        String dtype = e.path("dtype").asText("");
        int es = elementSize(dtype);
        if (es < 0) {
          throw new IOException(path + ": tensor " + f.getKey() + " has unsupported dtype '" + dtype + "'");
        }
        JsonNode sh = e.path("shape");
        if (!sh.isArray()) {
          throw new IOException(path + ": tensor " + f.getKey() + " has a bad shape " + kind(sh)
              + " (expected a list of sizes)");
        }
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
          shape[i] = exactLong(sh.get(i));
          if (shape[i] < 0) {
            throw new IOException(path + ": tensor " + f.getKey() + " has a bad shape " + kind(sh));
          }
        }
        JsonNode off = e.path("data_offsets");
        long b = off.isArray() && off.size() == 2 ? exactLong(off.get(0)) : -1;
        long en = off.isArray() && off.size() == 2 ? exactLong(off.get(1)) : -1;
        Entry entry = new Entry(f.getKey(), dtype, shape, b, en);
        if (b < 0 || en < b || en > dataSize) {
          throw new IOException(path + ": tensor " + f.getKey() + " has data_offsets [" + b + ", " + en
              + "] outside the " + dataSize + "-byte data section (truncated file?)");
        }
        long need;
        try {
          need = Math.multiplyExact(entry.numel(), es);
        } catch (ArithmeticException x) {
          throw new IOException(path + ": tensor " + f.getKey() + " has a shape " + kind(sh) + " whose size "
              + "overflows 64 bits");
        }
        if ((en - b) != need) {
          throw new IOException(path + ": tensor " + f.getKey() + " is " + (en - b) + " bytes, but its " + dtype
              + " shape " + kind(sh) + " needs " + need);
        }
        entries.put(f.getKey(), entry);
      }
      rejectOverlaps(path, entries);
      return new SafeTensorsFile(path, 8 + n, Collections.unmodifiableMap(entries));
    }
  }

  /** An integer JSON value that fits a long, else -1 (1.5, "7", 2^64 and null are not sizes or offsets). */
  private static long exactLong(JsonNode v) {
    return v != null && v.isIntegralNumber() && v.canConvertToLong() ? v.asLong() : -1;
  }

  /** A JSON value for a message, shortened. */
  private static String kind(JsonNode v) {
    return v.isMissingNode() ? "nothing" : Json.shortened(v, 60);
  }

  /**
   * Refuses tensors whose byte ranges overlap (the safetensors format forbids it, and a write into one would change
   * another); empty tensors take no bytes and may sit anywhere.
   */
  private static void rejectOverlaps(Path path, Map<String, Entry> entries) throws IOException {
    java.util.List<Entry> byBegin = new java.util.ArrayList<>();
    for (Entry e : entries.values()) {
      if (e.end() > e.begin()) {
        byBegin.add(e);
      }
    }
    byBegin.sort(java.util.Comparator.comparingLong(Entry::begin));
    for (int i = 1; i < byBegin.size(); i++) {
      Entry prev = byBegin.get(i - 1);
      Entry cur = byBegin.get(i);
      if (cur.begin() < prev.end()) {
        throw new IOException(path + ": tensors " + prev.name() + " [" + prev.begin() + ", " + prev.end() + ") and "
            + cur.name() + " [" + cur.begin() + ", " + cur.end() + ") overlap in the data section");
      }
    }
  }

  /** Bytes per element of a safetensors dtype, or -1 when unsupported. */
  public static int elementSize(String dtype) {
    switch (dtype) {
      case "F64": case "I64": case "U64": return 8;
      case "F32": case "I32": case "U32": return 4;
      case "F16": case "BF16": case "I16": case "U16": return 2;
      case "I8": case "U8": case "BOOL": return 1;
      default: return -1;
    }
  }

  public Path path() {
    return path;
  }

  public Map<String, Entry> entries() {
    return entries;
  }

  public Entry entry(String name) {
    Entry e = entries.get(name);
    if (e == null) {
      throw new IllegalArgumentException(path + ": no tensor named " + name);
    }
    return e;
  }

  /** Bytes read per FileChannel call when filling native memory (a direct buffer's size is an int). */
  static final int READ_CHUNK = 64 << 20;

  /**
   * Reads a tensor's raw bytes from {@code ch} (this file, open for reading) straight into native memory at
   * {@code dst}, which must hold the entry's bytes: no heap copy and no int size, so tensors over 2 GiB load.
   */
  public void readInto(FileChannel ch, Entry e, Pointer dst) throws IOException {
    long n = e.end() - e.begin();
    long pos = 0;
    while (pos < n) {
      int chunk = (int) Math.min(READ_CHUNK, n - pos);
      // A view of dst's bytes [pos, pos + chunk) (no allocation, nothing JavaCPP counts), based at its own address
      // so that the buffer's positions stay ints whatever pos is.
      ByteBuffer window = new BytePointer(dst).getPointer(pos).capacity(chunk).asByteBuffer();
      while (window.hasRemaining()) {
        int r = ch.read(window, dataStart + e.begin() + pos + window.position());
        if (r < 0) {
          throw new IOException(path + ": tensor " + e.name() + " ends early (truncated file?)");
        }
      }
      pos += chunk;
    }
  }

  /** The raw little-endian bytes of a tensor on the heap (small tensors: configs, tests; at most 2 GiB). */
  public ByteBuffer bytes(String name) throws IOException {
    Entry e = entry(name);
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(e.end() - e.begin())).order(ByteOrder.LITTLE_ENDIAN);
      ch.read(b, dataStart + e.begin());
      return b.flip().order(ByteOrder.LITTLE_ENDIAN);
    }
  }

  /** A tensor as floats (F32, BF16 and F16 are converted). */
  public float[] floats(String name) throws IOException {
    Entry e = entry(name);
    ByteBuffer b = bytes(name);
    float[] out = new float[Math.toIntExact(e.numel())];
    for (int i = 0; i < out.length; i++) {
      switch (e.dtype()) {
        case "F32": out[i] = b.getFloat(); break;
        case "BF16": out[i] = Float.intBitsToFloat((b.getShort() & 0xffff) << 16); break;
        case "F16": out[i] = halfToFloat(b.getShort()); break;
        default: throw new IllegalArgumentException(name + " is " + e.dtype() + ", not a float tensor");
      }
    }
    return out;
  }

  /** IEEE 754 binary16 to float (Java 17 has no Float.float16ToFloat). */
  static float halfToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      float v = mant * 0x1p-24f; // subnormal
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** A tensor as longs (I64, I32). */
  public long[] longs(String name) throws IOException {
    Entry e = entry(name);
    ByteBuffer b = bytes(name);
    long[] out = new long[Math.toIntExact(e.numel())];
    for (int i = 0; i < out.length; i++) {
      switch (e.dtype()) {
        case "I64": out[i] = b.getLong(); break;
        case "I32": out[i] = b.getInt(); break;
        default: throw new IllegalArgumentException(name + " is " + e.dtype() + ", not an integer tensor");
      }
    }
    return out;
  }

  /** A U8 tensor's bytes. */
  public byte[] u8(String name) throws IOException {
    Entry e = entry(name);
    if (!e.dtype().equals("U8")) {
      throw new IllegalArgumentException(name + " is " + e.dtype() + ", not U8");
    }
    byte[] out = new byte[Math.toIntExact(e.numel())];
    bytes(name).get(out);
    return out;
  }
}
