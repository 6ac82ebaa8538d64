// The library-wide entry points of the CUDA twins: this thread's last error message and the version string, plus the
// status helpers every kernel file reports through (vlmr1_cuda_common.cuh).
#include <stdarg.h>
#include <stdio.h>

#include "vlmr1_cuda_common.cuh"

namespace vlmr1cuda {
namespace {

// One message per calling thread (the JVM and Python call from several), so a failure is never reported to, or
// overwritten by, another thread's call. Fixed size: formatting a message must not allocate or throw.
thread_local char last_error[512] = "";

}  // namespace

int fail(int code, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, args);
  va_end(args);
  return code;
}

int launched(const char* what) {
  const cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess) return VLMR1_CUDA_OK;
  return fail(VLMR1_CUDA_LAUNCH_FAILED, "%s: launch failed: %s (%s)", what, cudaGetErrorString(err),
              cudaGetErrorName(err));
}

DeviceOf::DeviceOf(const void* data) {
  if (!data) return;
  cudaPointerAttributes attributes;
  if (cudaPointerGetAttributes(&attributes, data) != cudaSuccess) {
    (void)cudaGetLastError();  // not a pointer the runtime knows: nothing to switch
    return;
  }
  if (attributes.type != cudaMemoryTypeDevice) return;
  int current = 0;
  if (cudaGetDevice(&current) != cudaSuccess || current == attributes.device) {
    (void)cudaGetLastError();
    return;
  }
  if (cudaSetDevice(attributes.device) == cudaSuccess) {
    previous_ = current;
  } else {
    (void)cudaGetLastError();
  }
}

DeviceOf::~DeviceOf() {
  if (previous_ >= 0 && cudaSetDevice(previous_) != cudaSuccess) (void)cudaGetLastError();  // not the next call's
}

}  // namespace vlmr1cuda

extern "C" const char* vlmr1_cuda_last_error(void) { return vlmr1cuda::last_error; }

extern "C" const char* vlmr1_cuda_version(void) {
  // CUDART_VERSION is 1000 * major + 10 * minor (13000 for CUDA 13.0). A function-local static is initialised once,
  // thread-safely, so concurrent first calls do not race on the buffer.
  static const char* const version = [] {
    static char buf[64];
#ifdef VLMR1_CUDA_EMULATED
    snprintf(buf, sizeof buf, "vlmr1-cuda 2 (CPU emulation, src/test/cuda/emu)");
#else
    snprintf(buf, sizeof buf, "vlmr1-cuda 2 (CUDA %d.%d)", CUDART_VERSION / 1000, (CUDART_VERSION % 1000) / 10);
#endif
    return buf;
  }();
  return version;
}
