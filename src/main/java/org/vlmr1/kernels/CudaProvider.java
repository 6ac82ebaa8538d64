// The provider for tensors on CUDA devices on our CUDA twins (CudaNative): allocates outputs with libtorch on the
// tensors' device, passes device pointers and the device's current stream, and turns status codes into the CPU
// kernels' exceptions. Arguments arrive validated by GrpoKernels (contiguous, small operands float32, one device).
package org.vlmr1.kernels;

import java.lang.reflect.Method;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Our CUDA kernels. Built and unit-tested without a GPU; not yet run on GPU hardware. */
final class CudaProvider implements KernelProvider {
  private static final System.Logger LOG = System.getLogger(CudaProvider.class.getName());
  static final CudaProvider INSTANCE = new CudaProvider();

  private CudaProvider() {}

  @Override
  public String describe() {
    return "CUDA kernels (" + CudaNative.vlmr1_cuda_version() + ")";
  }

  private static int dtype(Tensor t) {
    return TensorChecks.dtype(t) == ScalarType.BFloat16 ? GrpoNative.DTYPE_BF16 : GrpoNative.DTYPE_F32;
  }

  private static Tensor empty(ScalarType type, Tensor like, long... shape) {
    return torch.empty(shape, new TensorOptions(type).device(new DeviceOptional(like.device())), null);
  }

  private static FloatPointer floats(Tensor t) {
    return t == null ? null : t.data_ptr_float();
  }

  private static void check(int status, String kernel) {
    RuntimeException e = CudaStatus.error(status, kernel, status == CudaNative.OK ? null
        : CudaNative.vlmr1_cuda_last_error());
    if (e != null) {
      throw e;
    }
  }

  @Override
  public TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy) {
    CompositeProvider.checkIdRange("targets", targets, logits.size(1));
    long n = logits.size(0);
    Tensor lp = empty(ScalarType.Float, logits, n);                          // (N)
    Tensor ent = withEntropy ? empty(ScalarType.Float, logits, n) : null;    // (N)
    check(CudaNative.vlmr1_cuda_token_logprobs(logits.data_ptr(), dtype(logits), targets.data_ptr_long(), n,
        logits.size(1), temperature, lp.data_ptr_float(), floats(ent), stream(logits)), "token_logprobs");
    return new TokenLogProbs(lp, ent);
  }

  @Override
  public Tensor sampleDraw(Tensor w, Tensor u) {
    long rows = w.size(0);
    Tensor pos = empty(ScalarType.Long, w, rows);                              // (B)
    check(CudaNative.vlmr1_cuda_sample_draw(w.data_ptr_double(), u.data_ptr_double(), rows, w.size(1),
        pos.data_ptr_long(), stream(w)), "sample_draw");
    return pos;
  }

  /**
   * The sort stays libtorch's (stable, so exact: values copied, ties in id order before the flip); our kernel does
   * the two running sums in order.
   */
  @Override
  public Tensor topPFilter(Tensor weights, double topP) {
    Tensor w = weights.to(ScalarType.Double).contiguous();                                 // (B, K)
    T_TensorTensor_T sorted = torch.sort(w, new BoolOptional(true), 1, false);             // ascending, stable
    Tensor desc = sorted.get0().flip(1).contiguous();                             // (B, K) ties: larger id first
    Tensor order = sorted.get1().flip(1).contiguous();                                     // (B, K) their ids
    Tensor out = torch.empty_like(w);                                                      // (B, K)
    check(CudaNative.vlmr1_cuda_top_p_filter(w.data_ptr_double(), desc.data_ptr_double(), order.data_ptr_long(),
        w.size(0), w.size(1), topP, out.data_ptr_double(), stream(w)), "top_p_filter");
    return out;
  }

  @Override
  public Tensor groupAdvantages(Tensor rewards, int groupSize, ScaleRewards scale) {
    CompositeProvider.checkFiniteRewards(rewards);
    Tensor out = empty(ScalarType.Float, rewards, rewards.numel());          // (B*G)
    check(CudaNative.vlmr1_cuda_group_advantages(rewards.data_ptr_float(), rewards.numel(), groupSize, scale.code,
        out.data_ptr_float(), stream(rewards)), "group_advantages");
    return out;
  }

  @Override
  public GrpoLossResult grpoLoss(Tensor logits, Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref,
      GrpoLossConfig cfg, Tensor gradOut) {
    CompositeProvider.checkIdRange("completionIds", ids, logits.size(2));
    long b = logits.size(0);
    long t = logits.size(1);
    long n = b * t;
    Tensor grad = gradOut != null ? gradOut : torch.empty_like(logits);          // (B, T, V)
    Tensor logps = empty(ScalarType.Float, logits, b, t);                       // (B, T)
    Tensor stats = empty(ScalarType.Float, logits, n, GrpoNative.TOKEN_STATS);  // (N, 4)
    lossRows(logits, grad, 0, n, logits.size(2), b, t, ids, mask, adv, old, ref, cfg, logps, stats);
    double[] r = reduce(n, mask, stats, logps, old, ref, ids);
    return new GrpoLossResult(r[0], grad, logps, new GrpoLossMetrics(r[1], r[2], r[3], r[4], r[5]));
  }

  /**
   * NativeKernels.grpoLossFromHidden on the device: cuBLAS matmuls (libtorch) around our chunk kernel, at most
   * chunkRows x V logits alive. The chunk buffer comes from libtorch's caching allocator on each call.
   */
  @Override
  public GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor weight, Tensor ids, Tensor mask, Tensor adv,
      Tensor old, Tensor ref, GrpoLossConfig cfg, int chunkRows) {
    CompositeProvider.checkIdRange("completionIds", ids, weight.size(0));
    long b = hidden.size(0);
    long t = hidden.size(1);
    long h = hidden.size(2);
    long v = weight.size(0);
    long n = b * t;
    boolean bf16 = dtype(hidden) == GrpoNative.DTYPE_BF16;
    Tensor h2 = hidden.reshape(n, h);                                            // (N, H)
    Tensor gradHidden = torch.empty_like(h2);                                    // (N, H)
    Tensor gradWeight = null;                                                    // (V, H) float32
    Tensor logps = empty(ScalarType.Float, hidden, b, t);                       // (B, T)
    Tensor stats = empty(ScalarType.Float, hidden, n, GrpoNative.TOKEN_STATS);  // (N, 4)
    Tensor weightT = weight.t();                                                 // (H, V) view
    PointerScope outer = PointerScope.getInnerScope();
    Tensor buffer = empty(TensorChecks.dtype(hidden), hidden, Math.min(chunkRows, n), v);  // (chunk, V)
    for (long r0 = 0; r0 < n; r0 += chunkRows) {
      long rows = Math.min(chunkRows, n - r0);
      try (PointerScope chunk = new PointerScope()) {
        Tensor hc = h2.narrow(0, r0, rows);                                      // (rows, H)
        Tensor logits = buffer.narrow(0, 0, rows);                               // (rows, V)
        torch.mm_out(logits, hc, weightT);
        lossRows(logits, logits, r0, rows, v, b, t, ids, mask, adv, old, ref, cfg, logps, stats);
        torch.mm_out(gradHidden.narrow(0, r0, rows), logits, weight);           // (rows, H)
        Tensor gl = bf16 ? logits.t().to(ScalarType.Float) : logits.t();        // (V, rows)
        Tensor hf = bf16 ? hc.to(ScalarType.Float) : hc;                         // (rows, H)
        if (gradWeight == null) {
          gradWeight = Scopes.escape(gl.mm(hf), outer);                          // (V, H)
        } else {
          gradWeight.addmm_(gl, hf);
        }
      }
    }
    if (gradWeight == null) { // no rows
      gradWeight = torch.zeros(new long[] {v, h}, new TensorOptions(ScalarType.Float)
          .device(new DeviceOptional(hidden.device())));
    }
    double[] r = reduce(n, mask, stats, logps, old, ref, ids);
    Tensor gw = bf16 ? gradWeight.to(ScalarType.BFloat16) : gradWeight;
    return new GrpoHiddenLossResult(r[0], gradHidden.reshape(b, t, h), gw, logps,
        new GrpoLossMetrics(r[1], r[2], r[3], r[4], r[5]));
  }

  private static void lossRows(Tensor logits, Tensor grad, long rowBegin, long rows, long vocab, long b, long t,
      Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref, GrpoLossConfig cfg, Tensor logps, Tensor stats) {
    check(CudaNative.vlmr1_cuda_grpo_loss_rows(logits.data_ptr(), dtype(logits), grad == null ? null
        : grad.data_ptr(), rowBegin, rows, vocab, b, t, ids.data_ptr_long(), mask.data_ptr_float(),
        adv.data_ptr_float(), floats(old), floats(ref), cfg.epsilonLow(), cfg.epsilonHigh(), cfg.beta(),
        cfg.temperature(), cfg.lossType().code, cfg.maxCompletionLength(), cfg.dapoTokenCount(), cfg.lossScale(),
        logps.data_ptr_float(), stats.data_ptr_float(), stream(logits)), "grpo_loss");
  }

  /**
   * The fixed-order reduction on the device, read back (7 doubles: the loss, TRL's five metrics, and the count of
   * unmasked tokens with a non-finite log-prob, which raises the CPU kernel's error).
   */
  private static double[] reduce(long n, Tensor mask, Tensor stats, Tensor logps, Tensor old, Tensor ref,
      Tensor ids) {
    Tensor out = empty(ScalarType.Double, stats, 7);                                        // (7) on the device
    check(CudaNative.vlmr1_cuda_grpo_loss_reduce(n, mask.data_ptr_float(), stats.data_ptr_float(),
        new DoublePointer(out.data_ptr()), stream(stats)), "grpo_loss");
    Tensor host = out.to(new Device(torch.DeviceType.CPU), ScalarType.Double).contiguous(); // waits on the stream
    double[] r = new double[7];
    host.data_ptr_double().get(r);
    if (r[6] > 0) {
      String msg = CudaStatus.nonFiniteMessage(logps, mask, old, ref, ids);
      throw new IllegalArgumentException(msg != null ? msg : "grpo_loss: " + (long) r[6] + " unmasked token(s) "
          + "with a non-finite log-prob");
    }
    return r;
  }

  private static volatile Method currentStream;
  private static volatile Method streamPointer;
  private static volatile boolean streamUnavailable;

  /**
   * The cudaStream_t of libtorch's current stream on {@code t}'s device, so our kernels order with libtorch's. The
   * preset exposes it as torch_cuda.getCurrentCUDAStream(index).stream(), whose type lives in JavaCPP's cuda preset
   * (not a compile-time dependency of the CPU flavour), hence reflection. When that fails: null, the legacy default
   * stream, which is libtorch's current stream unless a caller set another (said once).
   */
  static Pointer stream(Tensor t) {
    if (streamUnavailable) {
      return null;
    }
    try {
      if (currentStream == null) {
        Class<?> cuda = Class.forName("org.bytedeco.pytorch.global.torch_cuda");
        currentStream = cuda.getMethod("getCurrentCUDAStream", byte.class);
        streamPointer = Class.forName("org.bytedeco.pytorch.cuda.CUDAStream").getMethod("stream");
      }
      Object s = currentStream.invoke(null, t.device().index());
      return (Pointer) streamPointer.invoke(s);
    } catch (ReflectiveOperationException | LinkageError | ClassCastException e) {
      streamUnavailable = true;
      LOG.log(System.Logger.Level.WARNING, "vlmr1 CUDA kernels: libtorch's current stream is not reachable (" + e
          + "); they run on the legacy default stream");
      return null;
    }
  }
}
