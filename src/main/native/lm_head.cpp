// lm_head_logits: the decode step's LM head, logits (B, V) = hidden (B, H) @ weight (V, H)^T, streaming the weight
// once per call. libtorch's CPU matmul (OpenBLAS) re-packs the whole (V, H) weight into its panel layout at every
// call (sgemm_incopy was 10% of a GRPO step's CPU at V = 151,936, issue 18); here each tile of
// weight rows is read from memory once and reused, from L1, against every hidden row.
// Forward only (decode needs no gradient). OpenMP over blocks of 252 vocabulary rows, scheduled dynamically so that
// on a shared machine a descheduled thread's blocks go to the others; each logit is one thread's dot product in a
// fixed order (16 lanes on AVX-512 CPUs, else 8; then the lanes pairwise; then the scalar tail), so results do not
// depend on the thread count. The AVX2/AVX-512 code fuses multiply-adds (fp-contract below), the baseline clone
// cannot: bits may differ between CPU classes, never between runs.
#pragma GCC optimize("fp-contract=fast")

#include <omp.h>

#include <stdexcept>
#include <string>

#include "row_dot.h"

namespace vlmr1 {
namespace {

constexpr int64_t BLOCK_V = 252;  // weight rows per OpenMP work item: whole 4- and 6-row tiles

}  // namespace

void lm_head_logits(const float* hidden, const float* weight, int64_t rows, int64_t vocab, int64_t hidden_size,
                    float* out) {
  if (rows < 0 || vocab <= 0 || hidden_size <= 0)
    throw std::invalid_argument("lm_head_logits: bad shape rows=" + std::to_string(rows) + " vocab=" +
                                std::to_string(vocab) + " hidden=" + std::to_string(hidden_size));
  if (rows == 0) return;
  const int64_t blocks = (vocab + BLOCK_V - 1) / BLOCK_V;
#pragma omp parallel for schedule(dynamic)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t v0 = blk * BLOCK_V;
    const int64_t v1 = v0 + BLOCK_V < vocab ? v0 + BLOCK_V : vocab;
    detail::dots(hidden, weight, rows, v0, v1, vocab, hidden_size, out);
  }
}

}  // namespace vlmr1
