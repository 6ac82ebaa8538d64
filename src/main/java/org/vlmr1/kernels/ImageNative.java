// JavaCPP peer of the native image preprocessing kernels (src/main/native/image_preprocess.cpp).
package org.vlmr1.kernels;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** Use {@link ImageKernels}, which validates and falls back; not this class. */
// The "-gpu" entry adds nothing to the build; at run time it makes the loader look under <platform>-gpu/ first,
// where the -gpu build (mvn -Pgpu) writes this library beside the CUDA one, then under <platform>/.
@Properties(value = {
    @Platform(include = "vlmr1_kernels.h", link = "vlmr1kernels", compiler = "cpp17"),
    @Platform(value = "linux-x86_64", extension = "-gpu")})
@Namespace("vlmr1")
final class ImageNative {
  static {
    TorchRuntime.load(); // one OpenMP runtime: libtorch's
    Loader.load();
  }

  private ImageNative() {}

  static native void pillow_resize_bicubic(@Cast("const uint8_t*") BytePointer in, long inW, long inH,
      @Cast("uint8_t*") BytePointer out, long outW, long outH);

  static native void qwen_patchify(@Cast("const uint8_t*") BytePointer rgb, long h, long w, @Const FloatPointer mean,
      @Const FloatPointer std, FloatPointer out);

  static native void internvl_tiles(@Cast("const uint8_t*") BytePointer rgb, long cols, long rows, long size,
      @Const FloatPointer mean, @Const FloatPointer std, FloatPointer out);
}
