// TokenSampler's rule on the (B, V) logits tensor with libtorch ops, so only B ids per step leave the device: the same
// float -> double steps, the same top-k tie rule, the same top-p boundary and tie order, and the same sequential sums.
package org.vlmr1.model;

import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.KernelProvider;
import org.vlmr1.kernels.KernelProviders;
import org.vlmr1.kernels.TopKKernels;

/**
 * Next-token selection for a whole batch on the logits' device. Stateless; never touches libtorch's generators.
 *
 * <p>Mirrors {@link TokenSampler#next} step by step so that equal logits and equal uniforms give the same id:
 * <ul>
 *   <li>the logits are cast to float32 (what {@code Generator.rows} hands the reference), then to double, and
 *       divided by the temperature in double ({@code s_i = (double) x_i / T});</li>
 *   <li>top-k keeps {@code s_i >= kth / T} where {@code kth} is the k-th largest float logit counted with
 *       multiplicity, so every id tied with it stays; the rest of the work then runs on those candidates only,
 *       (B, K) in id order, since the other ids weigh 0 and add nothing to any running sum;</li>
 *   <li>{@code w_i = exp(s_i - max s)} on the kept ids, zero elsewhere; every sum is a row-wise {@code cumsum},
 *       which libtorch's CPU kernel accumulates sequentially in double, left to right, like the reference's loops
 *       (a {@code sum} reduction would not: it vectorises and pairs);</li>
 *   <li>top-p sorts by {@code w} descending with ties larger id first (an ascending stable sort, flipped, as
 *       transformers does), accumulates {@code w_i / W} in that order and keeps each id whose preceding mass is
 *       below {@code top_p} (the first one always);</li>
 *   <li>the id is the first index whose running sum in id order exceeds {@code u * W} (the cdf is non-decreasing, so
 *       this is the count of entries {@code <= u * W}), else the last id with {@code w > 0}.</li>
 * </ul>
 * {@code exp} is {@link TokenSampler#exp(double)} spelled as libtorch ops (libtorch's own exp and {@code Math.exp}
 * round differently on about 6 % of inputs), so every intermediate is fixed by IEEE-754 and both samplers compute
 * bit-identical weights and sums (TensorSamplerTest checks the scaled logits and the weights bit for bit). On CUDA
 * the same ids follow: the division by the temperature is a true one there too ({@link #scaled}), the exp's ops are
 * separate kernels (no fma contraction across them), and the two steps with running sums, top-p and the draw, are
 * the device provider's ({@link KernelProvider#topPFilter}, {@link KernelProvider#sampleDraw}), whose CUDA twins
 * sum sequentially where libtorch's CUDA cumsum is a parallel scan.
 */
public final class TensorSampler {
  private TensorSampler() {}

  /** The B keyed draws {@code U(seed, step, firstSample + b, position)}, a (B) double tensor on like's device. */
  public static Tensor uniforms(SamplingConfig cfg, long step, long firstSample, int b, long position, Tensor like) {
    long[] samples = new long[b];
    for (int r = 0; r < b; r++) {
      samples[r] = firstSample + r;
    }
    return uniforms(cfg, step, samples, position, like);
  }

  /** The keyed draws {@code U(seed, step, samples[b], position)}, a (B) double tensor on like's device. */
  public static Tensor uniforms(SamplingConfig cfg, long step, long[] samples, long position, Tensor like) {
    double[] u = new double[samples.length];
    for (int r = 0; r < samples.length; r++) {
      u[r] = TokenSampler.uniform(cfg.seed(), step, samples[r], position);
    }
    return doubles(u).to(like.device(), ScalarType.Double);                                // (B)
  }

  /**
   * {@code (double) x / T} elementwise, a true division on every device: the divisor is a 0-dim tensor on x's device,
   * because libtorch's CUDA division by a host scalar (a {@code Scalar}, or any CPU 0-dim tensor) multiplies by
   * {@code 1 / T} instead, which rounds differently (its BinaryDivTrueKernel.cu); the CPU divides either way.
   */
  static Tensor scaled(Tensor x, double temperature) {
    Tensor d = x.to(ScalarType.Double);                                                     // (B, V)
    return d.div(torch.full(new long[0], new Scalar(temperature),
        new TensorOptions(ScalarType.Double).device(new DeviceOptional(d.device()))));      // (B, V)
  }

  /** {@link TokenSampler#exp(double)} elementwise on a double tensor, one libtorch op per basic operation. */
  static Tensor exp(Tensor x) {
    Tensor ok = x.ge(new Scalar(TokenSampler.EXP_FLOOR));                                   // false for NaN too
    Tensor xc = x.clamp_min(new Scalar(TokenSampler.EXP_FLOOR));                            // keeps k finite
    Tensor k = xc.mul(new Scalar(TokenSampler.LOG2E)).round();                             // half to even, as rint
    Tensor r = xc.sub(k.mul(new Scalar(TokenSampler.LN2_HI))).sub(k.mul(new Scalar(TokenSampler.LN2_LO)));
    double[] c = TokenSampler.EXP_C;
    Tensor p = r.mul(new Scalar(c[13])).add_(new Scalar(c[12]));
    for (int i = 11; i >= 0; i--) {
      p.mul_(r).add_(new Scalar(c[i]));                                                     // separate ops: no fma
    }
    Tensor two = k.to(ScalarType.Long).add(new Scalar(1023L)).mul(new Scalar(1L << 52))
        .view(ScalarType.Double);                                                           // 2^k from its bits
    return p.mul(two).masked_fill(ok.logical_not(), new Scalar(0.0));
  }

  /** A (n) double CPU tensor holding {@code x} (the preset has no {@code tensor(double[])}). */
  static Tensor doubles(double[] x) {
    Tensor t = torch.empty(new long[] {x.length}, new TensorOptions(ScalarType.Double), null); // (n)
    t.data_ptr_double().put(x);
    return t;
  }

  /**
   * The chosen ids.
   *
   * @param logits (B, V) any floating dtype
   * @param u (B) double uniforms in [0, 1) (ignored when greedy; may then be null)
   * @return (B) int64 on the logits' device
   */
  public static Tensor next(Tensor logits, SamplingConfig cfg, Tensor u) {
    return next(logits, cfg, u, true);
  }

  /**
   * {@link #next} over candidate columns: the id {@link #next} would pick from the full logits, given the exact
   * logits of a superset of each row's top-k ids (the pruned head's candidates, in id order, padded with -inf). Every
   * step of next() sees the same values: the k largest (with ties) are among the candidates, and the other ids weigh
   * 0 after top-k, so they add nothing to any sum; greedy's first maximum is the smallest id among the maxima.
   *
   * @param logits (B, C) float32 candidate logits, C >= top_k (>= 1 when greedy)
   * @param ids (B, C) int64 their vocabulary ids, ascending in each row up to its padding
   * @return (B) int64 vocabulary ids
   */
  public static Tensor nextAmong(Tensor logits, Tensor ids, SamplingConfig cfg, Tensor u) {
    Tensor pos = next(logits, cfg, u, true);                                                  // (B) in [0, C)
    return ids.gather(1, pos.to(ScalarType.Long).unsqueeze(1)).squeeze(1);                   // (B)
  }

  /** {@link #next}; {@code nativeTopK} false keeps the libtorch composite for the top-k step (its test oracle). */
  static Tensor next(Tensor logits, SamplingConfig cfg, Tensor u, boolean nativeTopK) {
    if (logits.dim() != 2) {
      throw new IllegalArgumentException("logits must be (B, V), got " + java.util.Arrays.toString(
          logits.sizes().vec().get()));
    }
    Tensor x = logits.to(ScalarType.Float);                                                 // (B, V) as the reference
    if (cfg.greedy()) {
      return torch.argmax(x, new LongOptional(1), false);                                   // (B) first maximum
    }
    long v = x.size(1);
    Tensor cand = null;                                                                     // (B, K) ids, or all V
    Tensor kthS = null;
    if (cfg.topK() > 0 && cfg.topK() < v) {
      // Only the candidates matter: ids below the k-th value weigh 0 and add nothing to any running sum, so the
      // sums over the kept ids in id order are the reference's. K is the widest row's kept count (ties with the
      // k-th value widen a row); the K largest of a row hold all of its kept ids.
      int k = cfg.topK();
      TopKKernels.Candidates c = nativeTopK && TopKKernels.usesNative(x) ? TopKKernels.candidates(x, k) : null;
      Tensor kth;
      if (c != null) {
        // our kernel: the kept ids in id order, then ids below the k-th value (weight 0, so they add nothing to
        // any running sum and are never picked; where they sit in the row does not change the chosen id)
        kth = c.kth();                                                                      // (B, 1) float
        cand = c.ids();                                                                     // (B, K)
      } else {
        T_TensorTensor_T top = x.topk(k, 1, true, true);
        kth = top.get0().narrow(1, k - 1, 1);                                               // (B, 1) float
        long wide = x.ge(kth).sum(new long[] {1}, false, new ScalarTypeOptional(ScalarType.Long)).amax()
            .item_long();
        Tensor idx = wide == k ? top.get1() : x.topk(wide, 1, true, true).get1();           // (B, K)
        cand = torch.sort(idx, 1, false).get0();                                            // (B, K) id order
      }
      if (cand.size(1) == 0) {
        // NaN logits compare false with every k-th value, so no id is kept, and the max below would be libtorch's
        // "amax(): Expected reduction dim 1 to have non-zero size"
        throw new IllegalStateException("the logits hold no number to sample from (NaN: are the model's weights "
            + "finite?)");
      }
      x = x.gather(1, cand);                                                                // (B, K)
      kthS = scaled(kth, cfg.temperature());                                                // (B, 1) as s
    }
    Tensor s = scaled(x, cfg.temperature());                                                // (B, K)
    Tensor max = s.amax(new long[] {1}, true);                                              // (B, 1) the row's max
    Tensor w = exp(s.sub(max));                                                             // (B, K)
    if (kthS != null) {
      w = w.masked_fill(s.lt(kthS), new Scalar(0.0));                                       // the reference's s >= kth
    }
    // top-p and the draw by the device's kernel provider: their sums are sequential (the reference's loops), which
    // libtorch's CPU cumsum is and its CUDA cumsum (a parallel scan) is not, so on CUDA our twins do them
    KernelProvider kernels = KernelProviders.forTensor(w);
    if (cfg.topP() < 1) {
      w = kernels.topPFilter(w.contiguous(), cfg.topP());                                   // (B, K)
    }
    Tensor pos = kernels.sampleDraw(w.contiguous(), u.to(w.device(), ScalarType.Double).contiguous()); // (B)
    return cand == null ? pos : cand.gather(1, pos.unsqueeze(1)).squeeze(1);                // (B) ids
  }
}
