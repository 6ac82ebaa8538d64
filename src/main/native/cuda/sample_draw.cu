// vlmr1_cuda_sample_draw: the inverse-CDF draw at the end of org.vlmr1.model.TensorSampler.next, after its top-k /
// top-p filtering. Per row: cdf = cumsum(w) left to right in double, target = u * cdf[k-1], pos = the count of cdf
// entries <= target; when that is k (u * W rounded up to W, or NaN weights), the last index whose weight is not <= 0
// (0 when there is none). The reference's cumsum is sequential, so each row is one thread summing in order (a parallel
// scan would round differently and could pick a neighbouring id); the adds and the product are __dadd_rn / __dmul_rn,
// which also rules out any fma contraction.
#include "vlmr1_cuda_common.cuh"

namespace vlmr1cuda {
namespace {

constexpr int DRAW_THREADS = 128;

// w: (rows, k) double; u, out_pos: (rows). One thread per row, two sequential passes: the total, then the count.
__global__ void __launch_bounds__(DRAW_THREADS)
    sample_draw_kernel(const double* w, const double* u, int64_t rows, int64_t k, int64_t* out_pos) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * DRAW_THREADS + threadIdx.x;
  if (r >= rows) return;
  const double* wr = w + r * k;
  double total = 0.0;
  for (int64_t i = 0; i < k; ++i) total = __dadd_rn(total, wr[i]);
  const double target = __dmul_rn(u[r], total);
  double cdf = 0.0;
  int64_t first = 0, last = -1;
  for (int64_t i = 0; i < k; ++i) {
    cdf = __dadd_rn(cdf, wr[i]);  // the same sums, in the same order, as the first pass
    first += cdf <= target ? 1 : 0;  // counted over the whole row like the reference's le().sum(), NaN compares false
    if (!(wr[i] <= 0.0)) last = i;  // the reference masks only w <= 0, so a NaN weight counts as kept
  }
  out_pos[r] = first < k ? first : (last >= 0 ? last : 0);
}

}  // namespace
}  // namespace vlmr1cuda

using namespace vlmr1cuda;

extern "C" int vlmr1_cuda_sample_draw(const double* w, const double* u, int64_t rows, int64_t k, int64_t* out_pos,
                                      void* stream) {
  if (rows < 0 || k < 1)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "sample_draw: bad shape (%lld, %lld); k must be >= 1",
                static_cast<long long>(rows), static_cast<long long>(k));
  if (rows == 0) return VLMR1_CUDA_OK;
  if (!w || !u || !out_pos) return fail(VLMR1_CUDA_BAD_ARGUMENT, "sample_draw: w, u and out_pos must not be null");
  const int64_t blocks = (rows + DRAW_THREADS - 1) / DRAW_THREADS;
  if (blocks > 0x7FFFFFFF)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "sample_draw: %lld rows are too many", static_cast<long long>(rows));
  const DeviceOf on_device(w);  // launch on the device that holds the data
  VLMR1_LAUNCH(sample_draw_kernel, static_cast<unsigned>(blocks), DRAW_THREADS, 0, as_stream(stream))(w, u, rows, k,
                                                                                                     out_pos);
  return launched("sample_draw");
}
