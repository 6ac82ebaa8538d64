// The native contract of our CUDA kernels (src/main/native/cuda/vlmr1_cuda.h), -gpu flavour only. The JavaCPP plugin
// builds it only in the -gpu build (mvn -Pgpu lists it; the CPU build never compiles it and needs no CUDA), where its
// "-gpu" @Platform adds the header and links cppbuild/linux-x86_64-gpu/lib/libvlmr1kernels_cuda.a and the CUDA
// runtime; the library lands under org/vlmr1/kernels/linux-x86_64-gpu/ (the -gpu classifier jar). The extension-less
// @Platform is there so that JavaCPP 1.5.13's Loader tries to load the class in every flavour (a class whose only
// @Platform has an extension is skipped unless -Dorg.bytedeco.javacpp.platform.extension=-gpu is set); without the
// -gpu natives the load fails with UnsatisfiedLinkError and the composites run CUDA tensors (CudaKernelChoice).
package org.vlmr1.kernels;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * JavaCPP peer of the CUDA kernels: device pointers, host sizes, a {@code cudaStream_t} as a plain pointer (null: the
 * legacy default stream), an int status ({@link #OK} or the code of {@code vlmr1_cuda_last_error()}'s failure). Use
 * {@link CudaProvider}, which validates, allocates on the device and turns statuses into exceptions; not this class.
 */
@Properties(value = {
    @Platform(value = "linux-x86_64"),
    @Platform(value = "linux-x86_64", extension = "-gpu", include = "vlmr1_cuda.h",
        // cudart is the dynamic runtime libtorch's -gpu build has already loaded (same soname, so one runtime). It
        // comes first here because JavaCPP hands this list to the linker in reverse: g++ links --as-needed on Debian
        // and Ubuntu, so libcudart must follow the archive that uses it (CudaSourcesCompileTest checks the result).
        link = {"cudart", "vlmr1kernels_cuda"}, compiler = "cpp17")})
final class CudaNative {
  static {
    // libtorch first: its -gpu build preloads the CUDA runtime that our library's libcudart.so.13 resolves to.
    TorchRuntime.load();
    if (Loader.load() == null && Loader.isLoadLibraries()) {
      // JavaCPP skips a class it deems not for this platform and leaves its native methods unbound
      throw new UnsatisfiedLinkError("vlmr1 CUDA kernels: no -gpu natives for " + Loader.getPlatform());
    }
  }

  private CudaNative() {}

  static final int OK = 0;
  static final int BAD_ARGUMENT = 1;
  static final int LAUNCH_FAILED = 2;

  static native @Cast("const char*") String vlmr1_cuda_last_error();

  static native @Cast("const char*") String vlmr1_cuda_version();

  static native int vlmr1_cuda_token_logprobs(@Const Pointer logits, int dtype,
      @Cast("const int64_t*") LongPointer targets, long rows, long vocab, double temperature, FloatPointer outLogp,
      FloatPointer outEntropy, Pointer stream);

  static native int vlmr1_cuda_group_advantages(@Const FloatPointer rewards, long n, long groupSize, int scale,
      FloatPointer out, Pointer stream);

  static native int vlmr1_cuda_grpo_loss_rows(@Const Pointer logits, int dtype, Pointer grad, long rowBegin,
      long rowCount, long vocab, long batch, long seqLen, @Cast("const int64_t*") LongPointer targets,
      @Const FloatPointer mask, @Const FloatPointer adv, @Const FloatPointer oldLogp, @Const FloatPointer refLogp,
      double epsilonLow, double epsilonHigh, double beta, double temperature, int lossType, long maxCompletionLength,
      double dapoTokenCount, double lossScale, FloatPointer outLogp, FloatPointer tokenStats, Pointer stream);

  static native int vlmr1_cuda_grpo_loss_reduce(long tokens, @Const FloatPointer mask,
      @Const FloatPointer tokenStats, DoublePointer out, Pointer stream);

  static native int vlmr1_cuda_sample_draw(@Const DoublePointer w, @Const DoublePointer u, long rows, long k,
      @Cast("int64_t*") LongPointer outPos, Pointer stream);

  static native int vlmr1_cuda_top_p_filter(@Const DoublePointer w, @Const DoublePointer desc,
      @Cast("const int64_t*") LongPointer order, long rows, long k, double topP, DoublePointer out, Pointer stream);

  static native int vlmr1_cuda_qwen_patchify(@Cast("const uint8_t*") Pointer rgb, long h, long w,
      @Const FloatPointer mean, @Const FloatPointer std, FloatPointer out, Pointer stream);

  static native int vlmr1_cuda_internvl_tiles(@Cast("const uint8_t*") Pointer rgb, long cols, long rows, long size,
      @Const FloatPointer mean, @Const FloatPointer std, FloatPointer out, Pointer stream);
}
