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
import org.vlmr1.kernels.DropoutKernels;

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
 * <p>A module that runs on image features rather than on the tokens (InternVL's mlp1, over (tiles, tokens per tile))
 * uses the keys {@link #atSlots} gives: feature row k is the k-th image slot of the batch in row-major order (the
 * order the features are placed in), keyed by the sample that owns the slot and the slot's token position. So its
 * masks, too, depend on neither the other samples of the batch nor the padding.
 *
 * @param samples the global sample index of each row (B), or of each image slot (S)
 * @param positions (B, L) int64 token index from the row's first real token (cumsum(mask) - 1; pads negative), or
 *     (S) the token index of each image slot
 */
public record LoraDropout(long seed, long step, long[] samples, Tensor positions) {
  public LoraDropout {
    if (positions.dim() < 1 || positions.dim() > 2 || positions.size(0) != samples.length) {
      throw new IllegalArgumentException("positions must be (B, L) for B = " + samples.length + " samples, or (S) "
          + "for S image slots");
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
    requireRows("narrow");
    return new LoraDropout(seed, step, samples, positions.narrow(1, from, len));
  }

  /**
   * The keys of the image slots, one per slot in row-major order: slot k at (b, l) keeps the sample of row b and the
   * token position of (b, l), so feature j of slot k is dropped exactly when feature j of a token module's input at
   * that position would be (with the module's own key).
   *
   * @param isSlot (B, L) boolean, true at the positions that receive image features
   */
  public LoraDropout atSlots(Tensor isSlot) {
    requireRows("atSlots");
    Tensor rows = isSlot.nonzero().select(1, 0);                                              // (S)
    long[] row = org.vlmr1.kernels.TensorChecks.longs(rows); // onto the host there
    long[] s = new long[row.length];
    for (int k = 0; k < s.length; k++) {
      s[k] = samples[(int) row[k]];
    }
    return new LoraDropout(seed, step, s, positions.masked_select(isSlot));                   // (S)
  }

  /**
   * The scaled keep mask for the input {@code x} of module {@code module}, shaped like x: (B, L, in) for row keys;
   * any (..., in) holding the S slots in order for slot keys (InternVL's (tiles, tokens per tile, in)).
   */
  public Tensor maskFor(String module, Tensor x, double p) {
    long in = x.size(-1);
    boolean fits = positions.dim() == 2 ? x.dim() == 3 && x.size(0) == samples.length
        && x.size(1) == positions.size(1) : x.numel() == samples.length * in;
    if (!fits) {
      throw new IllegalStateException("LoRA dropout on " + module + ": its input " + java.util.Arrays.toString(
          x.sizes().vec().get()) + " is neither the pass's (B, L) tokens nor its image slots, so its mask has no "
          + "keys (not implemented)");
    }
    return mask(module, in, p, x.scalar_type().intern()).reshape(x.sizes().vec().get());
  }

  private void requireRows(String what) {
    if (positions.dim() != 2) {
      throw new IllegalStateException(what + " needs the (B, L) keys of a pass, not image-slot keys");
    }
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
   * The scaled keep mask (B, L, in) of module {@code module} ((S, in) for slot keys): 1 / (1 - p) where kept, 0 where
   * dropped, in {@code dtype}, on the positions' device. Our native kernel when {@link DropoutKernels#usesNative}
   * holds (the CPU), else {@link #maskComposite}; both give the same bits.
   */
  public Tensor mask(String module, long in, double p, ScalarType dtype) {
    if (DropoutKernels.usesNative(positions, dtype)) {
      if (positions.dim() == 2) {
        return DropoutKernels.loraMask(rowKeys(module), positions, in, p, dtype);               // (B, L, in)
      }
      return DropoutKernels.loraMask(rowKeys(module), positions.unsqueeze(1), in, p, dtype)
          .reshape(positions.size(0), in);                                                      // (S, in)
    }
    return maskComposite(module, in, p, dtype);
  }

  /**
   * The libtorch composite of {@link #mask} on any device: the native kernel's oracle and fallback. Its int64
   * temporaries live in a scope of their own (a training pass calls this once per adapter and layer inside one step's
   * scope, which would otherwise hold every layer's hashes to the end of the step); the mask belongs to the caller's.
   */
  public Tensor maskComposite(String module, long in, double p, ScalarType dtype) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope s = new PointerScope()) {
      Tensor out = keepComposite(module, in, p).to(dtype).mul(new Scalar(1 / (1 - p)));
      if (outer != null) {
        outer.attach(out);
      } else {
        out.retainReference();
      }
      return out;
    }
  }

  /** The keep mask as a bool tensor from libtorch's int64 ops, on the positions' device: (B, L, in) or (S, in). */
  private Tensor keepComposite(String module, long in, double p) {
    Tensor dev = positions;
    Tensor features = torch.arange(new Scalar(in), new TensorOptions(ScalarType.Long)
        .device(new org.bytedeco.pytorch.DeviceOptional(dev.device())));                       // (in)
    boolean rows = positions.dim() == 2;
    Tensor element = positions.mul(new Scalar(in)).unsqueeze(-1)
        .add(rows ? features.reshape(1, 1, in) : features.reshape(1, in));                    // (B, L, in) or (S, in)
    Tensor keys = torch.tensor(rowKeys(module)).to(dev.device(), ScalarType.Long)
        .reshape(rows ? new long[] {-1, 1, 1} : new long[] {-1, 1});                            // (B, 1, 1) or (S, 1)
    Tensor h = splitmix64(keys.bitwise_xor(element));                                          // like element
    Tensor u = shiftRight(h, 11).to(ScalarType.Double).mul(new Scalar(0x1.0p-53));
    return u.ge(new Scalar(p));
  }

  /** The hash chain of each row for {@code module} (B). */
  private long[] rowKeys(String module) {
    long[] base = new long[samples.length];
    for (int b = 0; b < base.length; b++) {
      base[b] = rowKey(seed, step, samples[b], module);
    }
    return base;
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
