// lm_head_logits: the decode step's LM head, logits (B, V) = hidden (B, H) @ weight (V, H)^T, streaming the weight
// once per call. libtorch's CPU matmul (OpenBLAS) re-packs the whole (V, H) weight into its panel layout at every
// call, which at V = 151,936 costs as much as the product when B is a decode batch (issue 18); here each tile of
// TILE_V weight rows is read from memory once and reused, from L1, against every hidden row.
// Forward only (decode needs no gradient). OpenMP over blocks of 256 vocabulary rows, scheduled dynamically so that
// on a shared machine a descheduled thread's blocks go to the others; each logit is one thread's dot product in a
// fixed order (8 lanes, then the lanes pairwise, then the scalar tail), so results do not depend on the
// thread count. The AVX2/AVX-512 clones fuse multiply-adds (fp-contract below), the baseline clone cannot: bits may
// differ between CPU classes, never between runs.
#pragma GCC optimize("fp-contract=fast")

#include <omp.h>

#include <stdexcept>
#include <string>

#include "row_softmax.h"

namespace vlmr1 {
namespace {

using detail::loadv;
using detail::vf;
using detail::VL;

constexpr int TILE_V = 4;   // weight rows per micro-tile: 4 x H floats stay in L1 while every hidden row passes
constexpr int TILE_B = 3;   // hidden rows per micro-tile: 4 x 3 accumulators + 4 weight vectors fit 16 registers
constexpr int64_t BLOCK_V = 256;  // weight rows per OpenMP work item

VLMR1_INLINE float hsum(vf v) {
  vf s = v + __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3);
  s = s + __builtin_shufflevector(s, s, 2, 3, 0, 1, 6, 7, 4, 5);
  s = s + __builtin_shufflevector(s, s, 1, 0, 3, 2, 5, 4, 7, 6);
  return s[0];
}

/** out[c * vocab + r] = dot(w + r * h, x + c * h) for r < RV, c < CB. */
template <int RV, int CB>
VLMR1_INLINE void tile(const float* w, const float* x, int64_t h, float* out, int64_t vocab) {
  vf acc[RV][CB] = {};
  int64_t k = 0;
  for (; k + VL <= h; k += VL) {
    vf wv[RV];
    for (int r = 0; r < RV; ++r) wv[r] = loadv(w + r * h + k);
    for (int c = 0; c < CB; ++c) {
      const vf xv = loadv(x + c * h + k);
      for (int r = 0; r < RV; ++r) acc[r][c] += wv[r] * xv;
    }
  }
  for (int r = 0; r < RV; ++r) {
    for (int c = 0; c < CB; ++c) {
      float s = hsum(acc[r][c]);
      for (int64_t j = k; j < h; ++j) s += w[r * h + j] * x[c * h + j];
      out[c * vocab + r] = s;
    }
  }
}

/** Every hidden row against weight rows [v0, v0 + RV). */
template <int RV>
VLMR1_INLINE void tile_rows(const float* x, const float* w, int64_t rows, int64_t v0, int64_t vocab, int64_t h,
                            float* out) {
  const float* wr = w + v0 * h;
  static_assert(TILE_B == 3, "the remainders below are 1 and 2");
  int64_t c = 0;
  for (; c + TILE_B <= rows; c += TILE_B) tile<RV, TILE_B>(wr, x + c * h, h, out + c * vocab + v0, vocab);
  if (rows - c == 2) tile<RV, 2>(wr, x + c * h, h, out + c * vocab + v0, vocab);
  if (rows - c == 1) tile<RV, 1>(wr, x + c * h, h, out + c * vocab + v0, vocab);
}

/** Logits of every hidden row for weight rows [v_begin, v_end). */
VLMR1_CLONES void head_block(const float* x, const float* w, int64_t rows, int64_t v_begin, int64_t v_end,
                             int64_t vocab, int64_t h, float* out) {
  int64_t v = v_begin;
  for (; v + TILE_V <= v_end; v += TILE_V) tile_rows<TILE_V>(x, w, rows, v, vocab, h, out);
  for (; v < v_end; ++v) tile_rows<1>(x, w, rows, v, vocab, h, out);
}

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
    head_block(hidden, weight, rows, v0, v1, vocab, hidden_size, out);
  }
}

}  // namespace vlmr1
