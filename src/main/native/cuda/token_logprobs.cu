// vlmr1_cuda_token_logprobs: the CUDA twin of vlmr1::token_logprobs (token_logprobs.cpp). log_softmax(x / T) at each
// row's target, plus the optional row entropy, without materialising the (rows, V) log-softmax: one block per row,
// one streaming read of the row (row_softmax.cuh). Forward only; grpo_loss.cu carries the backward.
#include <math.h>

#include "row_softmax.cuh"

namespace vlmr1cuda {
namespace {

// logits: (rows, vocab) of T; targets: (rows); out_logp, out_entropy: (rows), out_entropy may be null.
template <typename T>
__global__ void __launch_bounds__(ROW_THREADS)
    token_logprobs_kernel(const T* logits, const int64_t* targets, int64_t rows, int64_t vocab, float inv_t,
                          float* out_logp, float* out_entropy) {
  __shared__ RowScratch scratch;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = logits + r * vocab;
    const RowStats st = row_stats(row, vocab, inv_t, scratch);
    if (threadIdx.x == 0) {
      const int64_t t = targets[r];
      // The CPU throws on an out-of-range target; a device pointer cannot be checked from the host without a sync,
      // so such a row reads nothing out of bounds and gets a NaN log-prob instead.
      out_logp[r] = (t < 0 || t >= vocab) ? NAN : target_logp(row, t, inv_t, st.lse);
      if (out_entropy) out_entropy[r] = static_cast<float>(st.entropy);
    }
  }
}

}  // namespace
}  // namespace vlmr1cuda

using namespace vlmr1cuda;

extern "C" int vlmr1_cuda_token_logprobs(const void* logits, int dtype, const int64_t* targets, int64_t rows,
                                         int64_t vocab, double temperature, float* out_logp, float* out_entropy,
                                         void* stream) {
  if (dtype != 0 && dtype != 1)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "token_logprobs: unknown dtype code %d (0 = f32, 1 = bf16)", dtype);
  if (rows < 0 || vocab <= 0)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "token_logprobs: bad shape (%lld, %lld)", static_cast<long long>(rows),
                static_cast<long long>(vocab));
  if (!(temperature > 0.0))
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "token_logprobs: temperature must be > 0, got %g", temperature);
  if (rows == 0) return VLMR1_CUDA_OK;
  if (!logits || !targets || !out_logp)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "token_logprobs: logits, targets and out_logp must not be null");
  const DeviceOf on_device(logits);  // launch on the device that holds the data
  const float inv_t = static_cast<float>(1.0 / temperature);  // the CPU's float inverse, applied by a float product
  const unsigned grid = row_blocks(rows);
  if (dtype == 1)
    VLMR1_LAUNCH(token_logprobs_kernel<uint16_t>, grid, ROW_THREADS, 0, as_stream(stream))(
        static_cast<const uint16_t*>(logits), targets, rows, vocab, inv_t, out_logp, out_entropy);
  else
    VLMR1_LAUNCH(token_logprobs_kernel<float>, grid, ROW_THREADS, 0, as_stream(stream))(
        static_cast<const float*>(logits), targets, rows, vocab, inv_t, out_logp, out_entropy);
  return launched("token_logprobs");
}
