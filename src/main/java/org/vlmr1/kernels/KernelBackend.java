// Which implementation GrpoKernels runs: our native kernels or their libtorch-composite references.
package org.vlmr1.kernels;

/** The implementation behind {@link GrpoKernels}. */
public enum KernelBackend {
  /** Our C++ kernels (src/main/native), loaded through JavaCPP. */
  NATIVE,
  /** Plain libtorch ops with autograd: the test oracle, and the fallback when the native library cannot load. */
  COMPOSITE
}
