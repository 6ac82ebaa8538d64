// The native contract of our C++ kernels (src/main/native/vlmr1_kernels.h): JavaCPP generates the JNI glue from the
// annotations below and links it against cppbuild/<platform>/lib/libvlmr1kernels.a. Raw pointers only (the preset
// ships no libtorch headers); GrpoKernels checks every argument before it gets here.
package org.vlmr1.kernels;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** JavaCPP peer of the native kernels. Use {@link GrpoKernels}, which validates and falls back; not this class. */
// The "-gpu" entry adds nothing to the build; at run time it makes the loader look under <platform>-gpu/ first,
// where the -gpu build (mvn -Pgpu) writes this library beside the CUDA one, then under <platform>/.
@Properties(value = {
    @Platform(include = "vlmr1_kernels.h", link = "vlmr1kernels", compiler = "cpp17"),
    @Platform(value = "linux-x86_64", extension = "-gpu")})
@Namespace("vlmr1")
final class GrpoNative {
  static {
    // libtorch first, so that the one OpenMP runtime in the process is the preset's libgomp (JAVACPP-NOTES.md 4).
    TorchRuntime.load();
    Loader.load();
  }

  private GrpoNative() {}

  static final int DTYPE_F32 = 0;
  static final int DTYPE_BF16 = 1;
  static final int DTYPE_F64 = 2;
  static final int TOKEN_STATS = 4;

  static native @Cast("const char*") String kernel_isa();

  static native int kernel_threads();

  static native void token_logprobs(@Const Pointer logits, int dtype, @Cast("const int64_t*") LongPointer targets,
      long rows, long vocab, double temperature, FloatPointer outLogp, FloatPointer outEntropy);

  static native void group_advantages(@Const FloatPointer rewards, long n, long groupSize, int scale,
      FloatPointer out);

  static native void grpo_loss_rows(@Const Pointer logits, int dtype, Pointer grad, long rowBegin, long rowCount,
      long vocab, long batch, long seqLen, @Cast("const int64_t*") LongPointer targets, @Const FloatPointer mask,
      @Const FloatPointer adv, @Const FloatPointer oldLogp, @Const FloatPointer refLogp, double epsilonLow,
      double epsilonHigh, double beta, double temperature, int lossType, long maxCompletionLength,
      double dapoTokenCount, double lossScale, FloatPointer outLogp, FloatPointer tokenStats);

  static native void lm_head_logits(@Const FloatPointer hidden, @Const FloatPointer weight, long rows, long vocab,
      long hiddenSize, FloatPointer out);

  static native void lora_dropout_mask(@Cast("const int64_t*") LongPointer rowKeys,
      @Cast("const int64_t*") LongPointer positions, long rows, long len, long in, double p, int dtype, Pointer out);

  static native void decode_projections(@Const FloatPointer x, long rows, long in, @Const FloatPointer w0,
      @Const FloatPointer b0, long n0, FloatPointer out0, @Const FloatPointer w1, @Const FloatPointer b1, long n1,
      FloatPointer out1, @Const FloatPointer w2, @Const FloatPointer b2, long n2, FloatPointer out2);

  static native void decode_swiglu(@Const FloatPointer x, long rows, long in, @Const FloatPointer wGate,
      @Const FloatPointer wUp, long n, FloatPointer out);

  static native @Cast("bool") boolean lm_head_amx_available();

  static native long lm_head_packed_elements(long vocab, long hiddenSize, int layout);

  static native void lm_head_pack_bf16(@Const FloatPointer weight, long vocab, long hiddenSize,
      @Cast("uint16_t*") Pointer out, DoublePointer norms, int layout);

  static native void lm_head_logits_bf16(@Const FloatPointer hidden, @Cast("const uint16_t*") Pointer weight,
      long rows, long vocab, long hiddenSize, FloatPointer out, int layout);

  static native long lm_head_candidates(@Const FloatPointer hidden, long rows, long hiddenSize,
      @Const FloatPointer weight, @Const DoublePointer norms, long vocab, @Const FloatPointer approx,
      @Cast("const int64_t*") LongPointer exactIds, long nExact, long k, long cap, @Cast("int64_t*") LongPointer ids,
      FloatPointer logits, @Cast("int64_t*") LongPointer counts, int layout);

  static native long topk_candidates(@Const FloatPointer logits, long rows, long vocab, long k, long cap,
      @Cast("int64_t*") LongPointer ids, FloatPointer kth, @Cast("int64_t*") LongPointer counts);

  static native void grpo_loss_reduce(long tokens, @Const FloatPointer mask, @Const FloatPointer tokenStats,
      DoublePointer out);
}
