// vlmr1_cuda_top_p_filter: the top-p (nucleus) step of org.vlmr1.model.TensorSampler.next, after top-k and before the
// draw. Per row: W = the sequential left-to-right sum of w in id order (the composite's last cumsum entry); then, over
// the entries sorted by weight descending (ties larger id first; the sort itself stays libtorch's, which is exact),
// the mass before entry j is the sequential sum of desc[i] / W for i < j, and entry j keeps its weight when that mass
// is below top_p (so the first always does) and becomes 0 otherwise. The composite's two sums are cumsums, sequential
// on the CPU but a parallel scan on CUDA, which rounds differently and can move the nucleus boundary by one id; so
// each row is one thread summing in order, with __dadd_rn / __ddiv_rn (a true division, no fma contraction).
#include "vlmr1_cuda_common.cuh"

namespace vlmr1cuda {
namespace {

constexpr int TOP_P_THREADS = 128;

// w: (rows, k) double in id order; desc, order: (rows, k) the sorted weights and their ids; out: (rows, k), may be w
// (the first pass reads the whole row before the second writes it, and a row belongs to one thread).
__global__ void __launch_bounds__(TOP_P_THREADS)
    top_p_filter_kernel(const double* w, const double* desc, const int64_t* order, int64_t rows, int64_t k,
                        double top_p, double* out) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * TOP_P_THREADS + threadIdx.x;
  if (r >= rows) return;
  const double* wr = w + r * k;
  const double* dr = desc + r * k;
  const int64_t* orr = order + r * k;
  double* o = out + r * k;
  double total = 0.0;
  for (int64_t i = 0; i < k; ++i) total = __dadd_rn(total, wr[i]);
  double before = 0.0;  // the mass of the entries sorted ahead of j
  for (int64_t j = 0; j < k; ++j) {
    const int64_t id = orr[j];
    // the composite keeps w[id], which is desc[j] bit for bit (the sort copies values); a NaN mass compares false
    if (id >= 0 && id < k) o[id] = before < top_p ? dr[j] : 0.0;
    before = j == 0 ? __ddiv_rn(dr[0], total) : __dadd_rn(before, __ddiv_rn(dr[j], total));
  }
}

}  // namespace
}  // namespace vlmr1cuda

using namespace vlmr1cuda;

extern "C" int vlmr1_cuda_top_p_filter(const double* w, const double* desc, const int64_t* order, int64_t rows,
                                       int64_t k, double top_p, double* out, void* stream) {
  if (rows < 0 || k < 1)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "top_p_filter: bad shape (%lld, %lld); k must be >= 1",
                static_cast<long long>(rows), static_cast<long long>(k));
  if (!(top_p > 0.0 && top_p <= 1.0))
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "top_p_filter: top_p %g is not in (0, 1]", top_p);
  if (rows == 0) return VLMR1_CUDA_OK;
  if (!w || !desc || !order || !out)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "top_p_filter: w, desc, order and out must not be null");
  const int64_t blocks = (rows + TOP_P_THREADS - 1) / TOP_P_THREADS;
  if (blocks > 0x7FFFFFFF)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "top_p_filter: %lld rows are too many", static_cast<long long>(rows));
  const DeviceOf on_device(w);  // launch on the device that holds the data
  VLMR1_LAUNCH(top_p_filter_kernel, static_cast<unsigned>(blocks), TOP_P_THREADS, 0, as_stream(stream))(
      w, desc, order, rows, k, top_p, out);
  return launched("top_p_filter");
}
