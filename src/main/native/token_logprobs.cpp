// token_logprobs: log-softmax of logits/T at each row's target, plus the optional row entropy, without materialising
// the (rows, V) log-softmax (TRL's selective_log_softmax does the same with a full log_softmax per row).
// Forward only: the GRPO loss kernel (grpo_loss.cpp) carries the backward. OpenMP over rows, one thread per row.
#include <omp.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "row_softmax.h"

namespace vlmr1 {

int kernel_threads() { return omp_get_max_threads(); }

void token_logprobs(const void* logits, int dtype, const int64_t* targets, int64_t rows, int64_t vocab,
                    double temperature, float* out_logp, float* out_entropy) {
  const size_t esize = detail::dtype_size(dtype);
  if (rows < 0 || vocab <= 0) throw std::invalid_argument("token_logprobs: bad shape");
  if (!(temperature > 0.0)) throw std::invalid_argument("token_logprobs: temperature must be > 0");
  for (int64_t r = 0; r < rows; ++r)
    if (targets[r] < 0 || targets[r] >= vocab)
      throw std::invalid_argument("token_logprobs: target id " + std::to_string(targets[r]) + " at row " +
                                  std::to_string(r) + " is out of range [0, " + std::to_string(vocab) + ")");
  const float inv_t = static_cast<float>(1.0 / temperature);
  const char* base = static_cast<const char*>(logits);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const void* row = base + static_cast<size_t>(r) * static_cast<size_t>(vocab) * esize;
    const detail::RowStats st = detail::row_stats(row, dtype, vocab, inv_t, out_entropy != nullptr);
    const float xt = (dtype == DTYPE_BF16 ? detail::load(static_cast<const uint16_t*>(row), targets[r])
                                          : detail::load(static_cast<const float*>(row), targets[r])) *
                     inv_t;
    out_logp[r] = xt == -std::numeric_limits<float>::infinity() ? xt : static_cast<float>(xt - st.lse);
    if (out_entropy) out_entropy[r] = static_cast<float>(st.entropy);
  }
}

}  // namespace vlmr1
