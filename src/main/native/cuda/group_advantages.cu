// vlmr1_cuda_group_advantages: the CUDA twin of vlmr1::group_advantages (group_advantages.cpp), GRPO's
// group-normalised advantages A = (r - mean_group) / (std + 1e-4), std unbiased over the group (scale 0) or over all
// rewards (1), or only centred (2). The rewards are few (one per completion), so one block does it: sums run in double
// sequentially in index order, one thread per group, with the CPU's operations in its order (explicit _rn intrinsics,
// no fma contraction), which gives the CPU's bits.
#include <math.h>

#include "vlmr1_cuda_common.cuh"

namespace vlmr1cuda {
namespace {

__device__ double mean_of(const float* r, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s = __dadd_rn(s, static_cast<double>(r[i]));
  return s / static_cast<double>(n);
}

__device__ double unbiased_std(const float* r, int64_t n, double mean) {
  if (n < 2) return 0.0;
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = __dsub_rn(static_cast<double>(r[i]), mean);
    ss = __dadd_rn(ss, __dmul_rn(d, d));
  }
  return sqrt(ss / static_cast<double>(n - 1));
}

// rewards, out: (n), n = groups * group_size, groups consecutive. One block; thread 0 computes the batch std first.
__global__ void __launch_bounds__(ROW_THREADS)
    group_advantages_kernel(const float* rewards, int64_t n, int64_t group_size, int scale, float* out) {
  __shared__ double batch_std;
  if (threadIdx.x == 0) batch_std = scale == 1 ? unbiased_std(rewards, n, n ? mean_of(rewards, n) : 0.0) : 0.0;
  __syncthreads();
  for (int64_t g = threadIdx.x * group_size; g < n; g += static_cast<int64_t>(ROW_THREADS) * group_size) {
    const float* r = rewards + g;
    if (group_size == 1) {
      out[g] = 0.0f;  // a group of one has nothing to compare with
      continue;
    }
    const double mean = mean_of(r, group_size);
    const double denom = scale == 0   ? __dadd_rn(unbiased_std(r, group_size, mean), 1e-4)
                         : scale == 1 ? __dadd_rn(batch_std, 1e-4)
                                      : 1.0;
    for (int64_t i = 0; i < group_size; ++i)
      out[g + i] = static_cast<float>(__dsub_rn(static_cast<double>(r[i]), mean) / denom);
  }
}

}  // namespace
}  // namespace vlmr1cuda

using namespace vlmr1cuda;

// The CPU kernel also throws on a non-finite reward; the rewards are on the device here, and checking them would need
// a sync, so a non-finite reward propagates into its group's (or, for scale 1, every) advantage instead.
extern "C" int vlmr1_cuda_group_advantages(const float* rewards, int64_t n, int64_t group_size, int scale, float* out,
                                           void* stream) {
  if (group_size < 1)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "group_advantages: group size must be >= 1, got %lld",
                static_cast<long long>(group_size));
  if (n < 0 || n % group_size != 0)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "group_advantages: %lld rewards do not split into groups of %lld",
                static_cast<long long>(n), static_cast<long long>(group_size));
  if (scale < 0 || scale > 2)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "group_advantages: unknown scale code %d (0 group, 1 batch, 2 none)", scale);
  if (n == 0) return VLMR1_CUDA_OK;
  if (!rewards || !out) return fail(VLMR1_CUDA_BAD_ARGUMENT, "group_advantages: rewards and out must not be null");
  const DeviceOf on_device(rewards);  // launch on the device that holds the data
  VLMR1_LAUNCH(group_advantages_kernel, 1, ROW_THREADS, 0, as_stream(stream))(rewards, n, group_size, scale,
                                                                               out);
  return launched("group_advantages");
}
