// TokenSampler's rule on the (B, V) logits tensor with libtorch ops, so only B ids per step leave the device: the same
// float -> double steps, the same top-k tie rule, the same top-p boundary and tie order, and the same sequential sums.
package org.vlmr1.model;

import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
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
 * bit-identical weights and sums (TensorSamplerTest checks the scaled logits and the weights bit for bit). A CUDA
 * twin must keep the sequential cumsum (libtorch's CUDA cumsum is a parallel scan), a true division by the
 * temperature, and no fma contraction in the exp.
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

  /** {@code (double) x / T} elementwise: a true division (CUDA's div by a host scalar multiplies by 1/T instead). */
  static Tensor scaled(Tensor x, double temperature) {
    return x.to(ScalarType.Double).div(new Scalar(temperature));                            // (B, V)
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
      x = x.gather(1, cand);                                                                // (B, K)
      kthS = kth.to(ScalarType.Double).div(new Scalar(cfg.temperature()));                  // (B, 1) as s
    }
    long kw = x.size(1);
    Tensor s = scaled(x, cfg.temperature());                                                // (B, K)
    Tensor max = s.amax(new long[] {1}, true);                                              // (B, 1) the row's max
    Tensor w = exp(s.sub(max));                                                             // (B, K)
    if (kthS != null) {
      w = w.masked_fill(s.lt(kthS), new Scalar(0.0));                                       // the reference's s >= kth
    }
    if (cfg.topP() < 1) {
      // sequential on the CPU; on CUDA a parallel scan, so a nucleus boundary can round differently there
      Tensor total = w.cumsum(1).narrow(1, kw - 1, 1);                                       // (B, 1)
      T_TensorTensor_T sorted = torch.sort(w, new BoolOptional(true), 1, false);            // ascending, stable
      Tensor desc = sorted.get0().flip(1);                                            // (B, K) ties: larger id first
      Tensor order = sorted.get1().flip(1);                                                 // (B, K)
      Tensor cum = desc.div(total).cumsum(1);                                               // (B, K) sequential
      Tensor before = torch.cat(new TensorVector(
          torch.zeros(new long[] {x.size(0), 1}, new TensorOptions(ScalarType.Double)
              .device(new DeviceOptional(x.device()))),
          cum.narrow(1, 0, kw - 1)), 1);                                                     // (B, K) mass before
      Tensor keepSorted = before.lt(new Scalar(cfg.topP()));                                // (B, K)
      Tensor keep = torch.zeros_like(keepSorted).scatter(1, order, keepSorted);             // (B, K) id order
      w = w.masked_fill(keep.logical_not(), new Scalar(0.0));
    }
    // the draw itself by the device's kernel provider: on CUDA our twin keeps the sequential sum that libtorch's
    // parallel-scan cumsum would not
    Tensor pos = KernelProviders.forTensor(w).sampleDraw(w.contiguous(),
        u.to(w.device(), ScalarType.Double).contiguous());                                  // (B)
    return cand == null ? pos : cand.gather(1, pos.unsqueeze(1)).squeeze(1);                // (B) ids
  }
}
