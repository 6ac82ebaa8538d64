// The LoRA adapters' dropout mask as a pure function of (seed, optimizer step, global sample index, module, token
// position, feature), CONVENTIONS.md "Randomness": the same element is dropped whichever process, micro-batch or
// padding carries the row, and a recompute (gradient checkpointing) replays it.
package org.vlmr1.model;

import java.nio.charset.StandardCharsets;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One training pass's dropout keys. Feature j of token t (its index from the row's first real token, so left padding
 * never shifts it) of sample s entering the adapter of module m is kept when
 * <pre>
 *   h = splitmix64(splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ step) ^ s) ^ key(m)) ^ (t * in + j))
 *   u = (h >>> 11) * 2^-53 >= p
 * </pre>
 * with TokenSampler's splitmix64 and key(m) the 64-bit FNV-1a hash of the module path's UTF-8 bytes (the path names
 * the layer); kept features are scaled by 1 / (1 - p), as torch.nn.Dropout does.
 *
 * @param samples the global sample index of each row (B)
 * @param positions (B, L) int64 token index from the row's first real token (cumsum(mask) - 1; pads negative)
 */
public record LoraDropout(long seed, long step, long[] samples, Tensor positions) {
  public LoraDropout {
    if (positions.dim() != 2 || positions.size(0) != samples.length) {
      throw new IllegalArgumentException("positions must be (B, L) for B = " + samples.length + " samples");
    }
  }

  /** The keys of a left-padded batch whose row b is global sample firstSample + b. */
  public static LoraDropout of(long seed, long step, long firstSample, Tensor attentionMask) {
    long[] s = new long[(int) attentionMask.size(0)];
    for (int b = 0; b < s.length; b++) {
      s[b] = firstSample + b;
    }
    Tensor pos = attentionMask.to(ScalarType.Long).cumsum(1).sub(new Scalar(1));               // (B, L)
    return new LoraDropout(seed, step, s, pos);
  }

  /** The same keys for positions {@code from..from+len-1} only (the LM head sees the completion positions). */
  public LoraDropout narrow(long from, long len) {
    return new LoraDropout(seed, step, samples, positions.narrow(1, from, len));
  }

  /** FNV-1a over the UTF-8 bytes of a module path. */
  static long moduleKey(String module) {
    long h = 0xcbf29ce484222325L;
    for (byte b : module.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    return h;
  }

  /** The draw u of one element, in Java (the tests' reference for {@link #mask}). */
  public static double uniform(long seed, long step, long sample, String module, long element) {
    long h = TokenSampler.splitmix64(rowKey(seed, step, sample, module) ^ element);
    return (h >>> 11) * 0x1.0p-53;
  }

  /** The hash chain before the element: splitmix64 over (seed, step, sample, module key). */
  private static long rowKey(long seed, long step, long sample, String module) {
    return TokenSampler.splitmix64(TokenSampler.splitmix64(TokenSampler.splitmix64(TokenSampler.splitmix64(seed)
        ^ step) ^ sample) ^ moduleKey(module));
  }

  /**
   * The scaled keep mask (B, L, in) of module {@code module}: 1 / (1 - p) where kept, 0 where dropped, in
   * {@code dtype}. Its temporaries live in a scope of their own (a training pass calls this once per adapter and
   * layer inside one step's scope, which would otherwise hold every layer's int64 hashes to the end of the step); the
   * mask itself belongs to the caller's scope.
   */
  public Tensor mask(String module, long in, double p, ScalarType dtype) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope s = new PointerScope()) {
      Tensor keep = positions.device().is_cpu() ? hostKeep(module, in, p) : tensorKeep(module, in, p); // (B, L, in)
      Tensor out = keep.to(dtype).mul(new Scalar(1 / (1 - p)));
      if (outer != null) {
        outer.attach(out);
      } else {
        out.retainReference();
      }
      return out;
    }
  }

  private long[] rowKeys(String module) {
    long[] base = new long[samples.length];
    for (int b = 0; b < base.length; b++) {
      base[b] = rowKey(seed, step, samples[b], module);
    }
    return base;
  }

  /**
   * The keep mask (B, L, in) as 0/1 bytes computed on the host in one pass per element (TokenSampler's splitmix64 in
   * Java, rows in parallel): about 20x fewer passes over memory than the elementwise int64 ops of
   * {@link #tensorKeep}, which stays the path for tensors on other devices and this one's test oracle.
   */
  Tensor hostKeep(String module, long in, double p) {
    long[] base = rowKeys(module);
    int rows = samples.length;
    int len = (int) positions.size(1);
    long[] pos = new long[rows * len];
    positions.contiguous().data_ptr_long().get(pos);
    Tensor keep = torch.empty(new long[] {rows, len, in}, new TensorOptions(ScalarType.Byte), null); // (B, L, in)
    org.bytedeco.javacpp.BytePointer data = new org.bytedeco.javacpp.BytePointer(keep.data_ptr());
    java.util.stream.IntStream.range(0, rows * len).parallel().forEach(bl -> {
      byte[] token = new byte[(int) in]; // one token's features (in < 2^31: a layer's width)
      long key = base[bl / len];
      long first = pos[bl] * in;
      for (int j = 0; j < token.length; j++) {
        long h = TokenSampler.splitmix64(key ^ (first + j));
        token[j] = (h >>> 11) * 0x1.0p-53 >= p ? (byte) 1 : (byte) 0;
      }
      new org.bytedeco.javacpp.BytePointer(data).position((long) bl * in).put(token, 0, token.length);
    });
    return keep;
  }

  /** The keep mask (B, L, in) as a bool tensor from libtorch's int64 ops, on the positions' device. */
  Tensor tensorKeep(String module, long in, double p) {
    long[] base = rowKeys(module);
    Tensor dev = positions;
    Tensor features = torch.arange(new Scalar(in), new TensorOptions(ScalarType.Long)
        .device(new org.bytedeco.pytorch.DeviceOptional(dev.device())));                       // (in)
    Tensor element = positions.mul(new Scalar(in)).unsqueeze(2).add(features.reshape(1, 1, in)); // (B, L, in)
    Tensor keys = torch.tensor(base).to(dev.device(), ScalarType.Long).reshape(-1, 1, 1);       // (B, 1, 1)
    Tensor h = splitmix64(keys.bitwise_xor(element));                                          // (B, L, in)
    Tensor u = shiftRight(h, 11).to(ScalarType.Double).mul(new Scalar(0x1.0p-53));
    return u.ge(new Scalar(p));
  }

  /** TokenSampler.splitmix64 elementwise on int64 (libtorch's int64 arithmetic wraps like Java's long). */
  static Tensor splitmix64(Tensor x) {
    Tensor z = x.add(new Scalar(0x9E3779B97F4A7C15L));
    z = z.bitwise_xor(shiftRight(z, 30)).mul(new Scalar(0xBF58476D1CE4E5B9L));
    z = z.bitwise_xor(shiftRight(z, 27)).mul(new Scalar(0x94D049BB133111EBL));
    return z.bitwise_xor(shiftRight(z, 31));
  }

  /** Java's {@code >>>} on int64 (libtorch's right shift is arithmetic on signed types). */
  static Tensor shiftRight(Tensor z, int k) {
    return torch.bitwise_right_shift(z, new Scalar(k)).bitwise_and(new Scalar((1L << (64 - k)) - 1));
  }
}
