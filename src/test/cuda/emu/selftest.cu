// Self-test of the CUDA emulation (cuda_runtime.h + cuda_emu.cpp), so the claims the kernel checks rest on are
// themselves checked: block_sum (vlmr1_cuda_common.cuh, the kernels' own reduction) and the shuffles give the known
// values; a shuffle that not every lane reaches is reported as a launch failure, not a hang; a launch with too many
// threads is refused; and a shared value read without the barrier after its write is caught in reverse order (while
// the same kernel with the barrier is right in every order). Built and run by `build.sh --selftest BIN`; prints one
// line per case and exits 1 when any expectation fails.
#include <stdio.h>
#include <stdlib.h>

#include <vector>

#include "vlmr1_cuda_common.cuh"

namespace {

using vlmr1cuda::ROW_THREADS;

// out[block] = sum over the block of (threadIdx.x + 1) * (blockIdx.x + 1), by the kernels' block_sum.
__global__ void block_sum_kernel(double* out) {
  __shared__ double scratch[vlmr1cuda::WARPS];
  const double v = (threadIdx.x + 1.0) * (blockIdx.x + 1.0);
  const double s = vlmr1cuda::block_sum(v, scratch);
  if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// out[t] = (xor butterfly sum over the warp, value of lane t - 1 (up 1), lane 5's value) for v = t.
__global__ void shuffle_kernel(int* out) {
  int v = static_cast<int>(threadIdx.x);
  int sum = v;
  for (int m = 16; m > 0; m >>= 1) sum += __shfl_xor_sync(0xFFFFFFFFu, sum, m);
  const int up = __shfl_up_sync(0xFFFFFFFFu, v, 1);
  const int five = __shfl_sync(0xFFFFFFFFu, v, 5);
  out[3 * threadIdx.x] = sum;
  out[3 * threadIdx.x + 1] = up;
  out[3 * threadIdx.x + 2] = five;
}

// Lanes 16..31 skip a full-mask shuffle: undefined on a GPU, a reported deadlock here.
__global__ void divergent_shuffle_kernel(int* out) {
  int v = static_cast<int>(threadIdx.x);
  if ((threadIdx.x & 31) < 16) v = __shfl_down_sync(0xFFFFFFFFu, v, 1);
  out[threadIdx.x] = v;
}

// Thread 0 publishes a value every thread reads: with the barrier (sync = true) or without it.
__global__ void publish_kernel(int* out, bool sync) {
  __shared__ int value;
  if (threadIdx.x == 0) value = static_cast<int>(blockIdx.x) + 100;
  if (sync) __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = value;
  if (sync) __syncthreads();  // before block b + 1's thread 0 rewrites it (blocks run in order here anyway)
}

int failures = 0;

void expect(bool ok, const char* what) {
  printf("%s %s\n", ok ? "PASS" : "FAIL", what);
  if (!ok) ++failures;
}

bool publish_right(bool sync) {
  std::vector<int> out(3 * ROW_THREADS, -1);
  VLMR1_LAUNCH(publish_kernel, 3, ROW_THREADS, 0, nullptr)(out.data(), sync);
  if (cudaGetLastError() != cudaSuccess) return false;
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < ROW_THREADS; ++t)
      if (out[b * ROW_THREADS + t] != b + 100) return false;
  return true;
}

}  // namespace

int main() {
  const char* order = getenv("VLMR1_EMU_ORDER");
  const bool reverse = order && !strcmp(order, "reverse");
  printf("order %s\n", order ? order : "forward");

  std::vector<double> sums(3, 0.0);
  VLMR1_LAUNCH(block_sum_kernel, 3, ROW_THREADS, 0, nullptr)(sums.data());
  const double n = ROW_THREADS;
  expect(cudaGetLastError() == cudaSuccess && sums[0] == n * (n + 1) / 2 && sums[2] == 3 * n * (n + 1) / 2,
         "block_sum over 3 blocks of 256 threads");

  std::vector<int> sh(3 * 64, -1);
  VLMR1_LAUNCH(shuffle_kernel, 1, 64, 0, nullptr)(sh.data());
  bool ok = cudaGetLastError() == cudaSuccess;
  for (int t = 0; t < 64; ++t) {
    const int base = t & ~31;
    ok = ok && sh[3 * t] == 32 * base + 496 && sh[3 * t + 1] == ((t & 31) ? t - 1 : t) && sh[3 * t + 2] == base + 5;
  }
  expect(ok, "__shfl_xor_sync / __shfl_up_sync / __shfl_sync in two warps");

  std::vector<int> dv(ROW_THREADS, 0);
  VLMR1_LAUNCH(divergent_shuffle_kernel, 1, ROW_THREADS, 0, nullptr)(dv.data());
  const cudaError_t div = cudaGetLastError();
  expect(div == cudaErrorLaunchFailure && strstr(cudaGetErrorString(div), "deadlock"),
         "a full-mask shuffle half the warp skips is a reported launch failure");

  VLMR1_LAUNCH(block_sum_kernel, 1, 2048, 0, nullptr)(sums.data());
  expect(cudaGetLastError() == cudaErrorInvalidConfiguration, "2048 threads per block are refused");
  expect(cudaGetLastError() == cudaSuccess, "cudaGetLastError resets the error");

  expect(publish_right(true), "a value published before __syncthreads is read right");
  if (reverse) expect(!publish_right(false), "reverse order: a value read without the barrier is read stale");
  return failures ? 1 : 0;
}
