// CPU execution of vlmr1's CUDA sources (src/main/native/cuda/*.cu), in the manner of HIP-CPU: with this directory
// first on the include path, `#include <cuda_runtime.h>` lands here and g++ compiles the unchanged kernel bodies as
// C++. Each block runs as blockDim cooperative fibers on the launching thread (cuda_emu.cpp), blocks one after
// another; __syncthreads is a block barrier, a warp shuffle a per-warp exchange between two warp barriers (lockstep:
// every lane writes before any lane reads), __shared__ a function-local static (blocks never overlap, and launches
// are serialised, so one copy per kernel is one copy per block). A barrier that not every live thread of its block
// (or warp) reaches is reported as a launch failure instead of hanging. The _rn intrinsics are the plain IEEE
// operations: build with -ffp-contract=off so that g++ fuses nothing either. Not emulated: the memory model, real
// warp scheduling, alignment faults, device memory (pointers are host pointers) and the GPU's libm (expf, exp and log
// are glibc's here, within an ulp or two of CUDA's). Build: src/test/cuda/emu/build.sh.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cstddef>
#include <tuple>
#include <utility>

// ---------------------------------------------------------------------------------------------- qualifiers

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
// Per block: blocks run one at a time and launches are serialised, so a function-local static is the block's copy.
#define __shared__ static

/** Marks this build, so a source may say so (the version string). */
#define VLMR1_CUDA_EMULATED 1
#define CUDART_VERSION 0

// ---------------------------------------------------------------------------------------------- vector types

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
};
struct uint3 {
  unsigned int x, y, z;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(16) uint4 {
  unsigned int x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline uint4 make_uint4(unsigned int x, unsigned int y, unsigned int z, unsigned int w) { return uint4{x, y, z, w}; }

// The built-in variables of the running (emulated) thread; the scheduler sets them before resuming a fiber.
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;
constexpr int warpSize = 32;

// ---------------------------------------------------------------------------------------------- runtime API

typedef struct CUstream_st* cudaStream_t;
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101,
  cudaErrorLaunchFailure = 719,
};
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);

// Devices: the emulation has one host memory, and a test names address ranges as "device N" memory
// (vlmr1emu_mark_device in cuda_emu.cpp) to see that the entry points launch on their data's device.
enum cudaMemoryType {
  cudaMemoryTypeUnregistered = 0,
  cudaMemoryTypeHost = 1,
  cudaMemoryTypeDevice = 2,
  cudaMemoryTypeManaged = 3,
};
struct cudaPointerAttributes {
  enum cudaMemoryType type;
  int device;
  void* devicePointer;
  void* hostPointer;
};
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
const char* cudaGetErrorString(cudaError_t err);
const char* cudaGetErrorName(cudaError_t err);

// ---------------------------------------------------------------------------------------------- intrinsics

inline float __uint_as_float(unsigned int u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
inline unsigned int __float_as_uint(float f) {
  unsigned int u;
  memcpy(&u, &f, sizeof u);
  return u;
}
// Round-to-nearest single operations: with -ffp-contract=off each is exactly one IEEE operation.
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }

namespace vlmr1emu {

/** The block barrier of the running thread's block (cuda_emu.cpp). */
void block_barrier();
/** The warp barrier of the running thread's warp; mask must name exactly the warp's live lanes. */
void warp_barrier(unsigned int mask, const char* what);
/** The running thread's lane in its warp (its linear index in the block, mod 32). */
unsigned int lane_id();
/** Lane `lane`'s 8-byte slot of the running thread's warp's exchange buffer. */
void* warp_slot(unsigned int lane);

/**
 * One shuffle: every lane stores v in its slot, the warp meets, each lane reads lane src_of(lane)'s slot, the warp
 * meets again (so no lane overwrites a slot that another has yet to read).
 */
template <typename T, typename Src>
T shuffle(unsigned int mask, T v, Src src_of, const char* what) {
  static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
  const unsigned int lane = lane_id();
  memcpy(warp_slot(lane), &v, sizeof v);
  warp_barrier(mask, what);
  T out;
  memcpy(&out, warp_slot(src_of(lane)), sizeof out);
  warp_barrier(mask, what);
  return out;
}

}  // namespace vlmr1emu

inline void __syncthreads() { vlmr1emu::block_barrier(); }
inline void __syncwarp(unsigned int mask = 0xFFFFFFFFu) { vlmr1emu::warp_barrier(mask, "__syncwarp"); }

/** Lane l reads lane l + delta within its width-segment, or keeps its own value past the segment's end. */
template <typename T>
T __shfl_down_sync(unsigned int mask, T v, unsigned int delta, int width = warpSize) {
  const unsigned int w = static_cast<unsigned int>(width);
  return vlmr1emu::shuffle(mask, v, [=](unsigned int l) { return (l % w) + delta < w ? l + delta : l; },
                           "__shfl_down_sync");
}
template <typename T>
T __shfl_up_sync(unsigned int mask, T v, unsigned int delta, int width = warpSize) {
  const unsigned int w = static_cast<unsigned int>(width);
  return vlmr1emu::shuffle(mask, v, [=](unsigned int l) { return (l % w) >= delta ? l - delta : l; },
                           "__shfl_up_sync");
}
template <typename T>
T __shfl_xor_sync(unsigned int mask, T v, int lane_mask, int width = warpSize) {
  const unsigned int w = static_cast<unsigned int>(width);
  return vlmr1emu::shuffle(mask, v, [=](unsigned int l) {
    const unsigned int s = l ^ static_cast<unsigned int>(lane_mask);
    return (s / w) == (l / w) ? s : l;
  }, "__shfl_xor_sync");
}
template <typename T>
T __shfl_sync(unsigned int mask, T v, int src_lane, int width = warpSize) {
  const unsigned int w = static_cast<unsigned int>(width);
  return vlmr1emu::shuffle(mask, v, [=](unsigned int l) {
    return (l / w) * w + static_cast<unsigned int>(src_lane) % w;
  }, "__shfl_sync");
}

// ---------------------------------------------------------------------------------------------- launch

namespace vlmr1emu {

/** Type-erased block body: runs the kernel once for the current (emulated) thread. */
struct Body {
  virtual void run() = 0;
  virtual ~Body() = default;
};

/**
 * Runs body for every thread of every block of the grid; returns after the last block (the stream is ignored: every
 * launch completes before the call returns, a legal schedule of any stream). Sets the error cudaGetLastError reports.
 */
void run_grid(dim3 grid, dim3 block, size_t smem, cudaStream_t stream, Body& body);

template <typename... P>
struct Launch {
  void (*kernel)(P...);
  dim3 grid, block;
  size_t smem;
  cudaStream_t stream;

  template <typename... A>
  void operator()(A&&... args) const {
    struct Bound final : Body {
      void (*k)(P...);
      std::tuple<P...> params;  // the kernel's parameters by value, as the CUDA launch copies them
      Bound(void (*kk)(P...), A&&... a) : k(kk), params(std::forward<A>(a)...) {}
      void run() override { std::apply(k, params); }
    } bound(kernel, std::forward<A>(args)...);
    run_grid(grid, block, smem, stream, bound);
  }
};

template <typename... P>
Launch<P...> launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream) {
  return Launch<P...>{kernel, grid, block, smem, stream};
}

}  // namespace vlmr1emu
