// Internal helpers of the CUDA twins (not part of the ABI): status reporting for the extern "C" entry points, bf16
// bits, and the 16-byte vector loads / stores of a logits row. Every .cu of src/main/native/cuda includes it.
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

#include "vlmr1_cuda.h"

namespace vlmr1cuda {

/**
 * kernel<<<grid, block, smem, stream>>>(args...) written as VLMR1_LAUNCH(kernel, grid, block, smem, stream)(args...):
 * the same launch under nvcc; under a host compiler, the CPU emulation's launch (src/test/cuda/emu/cuda_runtime.h,
 * which then stands in for the CUDA runtime header), so the harness can run this very source without a GPU.
 */
#ifdef __CUDACC__
#define VLMR1_LAUNCH(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
#else
#define VLMR1_LAUNCH(kernel, grid, block, smem, stream) ::vlmr1emu::launch(kernel, grid, block, smem, stream)
#endif

// Internal to the library: hidden, so only the vlmr1_cuda_* functions of the ABI are exported from libvlmr1cuda.so.
#define VLMR1_CUDA_INTERNAL __attribute__((visibility("hidden")))

/** Records msg (printf-style) as this thread's last error and returns code; never throws. */
VLMR1_CUDA_INTERNAL int fail(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

/** VLMR1_CUDA_OK, or VLMR1_CUDA_LAUNCH_FAILED naming `what` when the runtime refused the launch just made. */
VLMR1_CUDA_INTERNAL int launched(const char* what);

/**
 * Makes the device that holds `data` the calling thread's current device for an entry point's scope, and restores the
 * caller's device after. A launch goes to the current device, which libtorch's own ops leave as they found it (device
 * 0 unless someone set it), while the stream argument is the current stream of the tensors' device: without this,
 * tensors on cuda:1 would be launched on device 0. A pointer the runtime does not know as device memory (host,
 * unregistered, null) leaves the current device alone; a failure here surfaces as the launch's error.
 */
class VLMR1_CUDA_INTERNAL DeviceOf {
 public:
  explicit DeviceOf(const void* data);
  ~DeviceOf();
  DeviceOf(const DeviceOf&) = delete;
  DeviceOf& operator=(const DeviceOf&) = delete;

 private:
  int previous_ = -1;  // the caller's device when this one switched, else -1
};

/** A host stream argument of the ABI as the runtime's type (null: the legacy default stream). */
inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

/** Threads per block of the row kernels: 8 warps, enough loads in flight per row without starving the grid. */
constexpr int ROW_THREADS = 256;
constexpr int WARPS = ROW_THREADS / 32;

/** Row grids are capped (the kernels stride over rows), which keeps gridDim.x in range for any row count. */
constexpr int64_t MAX_ROW_BLOCKS = 1 << 20;

inline unsigned row_blocks(int64_t rows) {
  return static_cast<unsigned>(rows < MAX_ROW_BLOCKS ? rows : MAX_ROW_BLOCKS);
}

/** Below this, expf is subnormal and a softmax term counts as 0, as in the CPU kernels (row_softmax.h EXP_LO). */
constexpr float EXP_LO = -87.3f;

/** bf16 bits to float: the high half of an f32. */
__device__ __forceinline__ float bf16_to_float(uint16_t h) { return __uint_as_float(static_cast<uint32_t>(h) << 16); }

/** float to bf16 bits, round to nearest even on the bits, exactly as the CPU's store (row_softmax.h). */
__device__ __forceinline__ uint16_t float_to_bf16(float f) {
  uint32_t bits = __float_as_uint(f);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

/**
 * Element access for a logits / gradient row of T (float, or uint16_t holding bf16 bits). A vector is 16 bytes:
 * VEC = 4 floats or 8 bf16; load_vec / store_vec need a 16-byte aligned pointer.
 */
template <typename T>
struct Elem;

template <>
struct Elem<float> {
  static constexpr int VEC = 4;
  __device__ __forceinline__ static float load(const float* p, int64_t i) { return p[i]; }
  __device__ __forceinline__ static void store(float* p, int64_t i, float v) { p[i] = v; }
  __device__ __forceinline__ static void load_vec(const float* p, int64_t v, float (&out)[VEC]) {
    const float4 q = reinterpret_cast<const float4*>(p)[v];
    out[0] = q.x;
    out[1] = q.y;
    out[2] = q.z;
    out[3] = q.w;
  }
  __device__ __forceinline__ static void store_vec(float* p, int64_t v, const float (&in)[VEC]) {
    reinterpret_cast<float4*>(p)[v] = make_float4(in[0], in[1], in[2], in[3]);
  }
};

template <>
struct Elem<uint16_t> {
  static constexpr int VEC = 8;
  __device__ __forceinline__ static float load(const uint16_t* p, int64_t i) { return bf16_to_float(p[i]); }
  __device__ __forceinline__ static void store(uint16_t* p, int64_t i, float v) { p[i] = float_to_bf16(v); }
  __device__ __forceinline__ static void load_vec(const uint16_t* p, int64_t v, float (&out)[VEC]) {
    const uint4 q = reinterpret_cast<const uint4*>(p)[v];
    const uint32_t w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      out[2 * j] = __uint_as_float(w[j] << 16);            // low half: the element at the lower address
      out[2 * j + 1] = __uint_as_float(w[j] & 0xFFFF0000u);
    }
  }
  __device__ __forceinline__ static void store_vec(uint16_t* p, int64_t v, const float (&in)[VEC]) {
    uint32_t w[4];
#pragma unroll
    for (int j = 0; j < 4; ++j)
      w[j] = static_cast<uint32_t>(float_to_bf16(in[2 * j])) |
             (static_cast<uint32_t>(float_to_bf16(in[2 * j + 1])) << 16);
    reinterpret_cast<uint4*>(p)[v] = make_uint4(w[0], w[1], w[2], w[3]);
  }
};

__device__ __forceinline__ bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

/**
 * Fixed-order sum of one double per thread over a block of ROW_THREADS: a shuffle-down tree in each warp, then warp
 * 0 over the warp totals. The order depends only on the thread index, so the bits repeat run to run. The result is
 * returned to every thread. scratch: WARPS doubles of shared memory; the call ends with the block synchronised.
 */
__device__ __forceinline__ double block_sum(double v, double* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xFFFFFFFFu, v, off);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < WARPS ? scratch[lane] : 0.0;
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xFFFFFFFFu, v, off);
    if (lane == 0) scratch[0] = v;
  }
  __syncthreads();
  return scratch[0];
}

}  // namespace vlmr1cuda
