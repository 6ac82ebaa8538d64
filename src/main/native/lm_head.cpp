// lm_head_logits: the decode step's LM head, logits (B, V) = hidden (B, H) @ weight (V, H)^T, streaming the weight
// once per call. libtorch's CPU matmul (OpenBLAS) re-packs the whole (V, H) weight into its panel layout at every
// call (sgemm_incopy was 10% of a GRPO step's CPU at V = 151,936, issue 18); here each tile of
// TILE_V weight rows is read from memory once and reused, from L1, against every hidden row.
// Forward only (decode needs no gradient). OpenMP over blocks of 256 vocabulary rows, scheduled dynamically so that
// on a shared machine a descheduled thread's blocks go to the others; each logit is one thread's dot product in a
// fixed order (16 lanes on AVX-512 CPUs, else 8; then the lanes pairwise; then the scalar tail), so results do not
// depend on the thread count. The AVX2/AVX-512 code fuses multiply-adds (fp-contract below), the baseline clone
// cannot: bits may differ between CPU classes, never between runs.
#pragma GCC optimize("fp-contract=fast")

#include <omp.h>

#include <stdexcept>
#include <string>

#include "row_softmax.h"

namespace vlmr1 {
namespace {

using detail::vf;

// The weight tile of TILE_V rows stays in L1 while every hidden row passes over it, TB hidden rows at a time.
// Narrow: 8-lane vectors, 4 x 3 accumulators + 4 weight vectors + 1 hidden vector fit AVX2's 16 registers.
// Wide (AVX-512 only): 16-lane vectors, 4 x 4 accumulators + 5 of 32 registers, twice the multiply-adds per cycle.
typedef float vw __attribute__((vector_size(64)));
constexpr int TILE_V = 4;
constexpr int64_t BLOCK_V = 256;  // weight rows per OpenMP work item

template <class VT>
VLMR1_INLINE VT loadt(const float* p) {
  VT v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

VLMR1_INLINE float hsum(vf v) {
  vf s = v + __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3);
  s = s + __builtin_shufflevector(s, s, 2, 3, 0, 1, 6, 7, 4, 5);
  s = s + __builtin_shufflevector(s, s, 1, 0, 3, 2, 5, 4, 7, 6);
  return s[0];
}

VLMR1_INLINE float hsum(vw v) {
  return hsum(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
              __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15));
}

/** out[c * vocab + r] = dot(w + r * h, x + c * h) for r < RV, c < CB. */
template <class VT, int RV, int CB>
VLMR1_INLINE void tile(const float* w, const float* x, int64_t h, float* out, int64_t vocab) {
  constexpr int L = sizeof(VT) / sizeof(float);
  VT acc[RV][CB] = {};
  int64_t k = 0;
  for (; k + L <= h; k += L) {
    VT wv[RV];
    for (int r = 0; r < RV; ++r) wv[r] = loadt<VT>(w + r * h + k);
    for (int c = 0; c < CB; ++c) {
      const VT xv = loadt<VT>(x + c * h + k);
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

/** The last rem < TB hidden rows against the weight tile. */
template <class VT, int RV, int N>
VLMR1_INLINE void tile_tail(const float* w, const float* x, int64_t rem, int64_t h, float* out, int64_t vocab) {
  if constexpr (N > 0) {
    if (rem == N) {
      tile<VT, RV, N>(w, x, h, out, vocab);
    } else {
      tile_tail<VT, RV, N - 1>(w, x, rem, h, out, vocab);
    }
  }
}

/** Every hidden row against weight rows [v0, v0 + RV). */
template <class VT, int RV, int TB>
VLMR1_INLINE void tile_rows(const float* x, const float* w, int64_t rows, int64_t v0, int64_t vocab, int64_t h,
                            float* out) {
  const float* wr = w + v0 * h;
  int64_t c = 0;
  for (; c + TB <= rows; c += TB) tile<VT, RV, TB>(wr, x + c * h, h, out + c * vocab + v0, vocab);
  tile_tail<VT, RV, TB - 1>(wr, x + c * h, rows - c, h, out + c * vocab + v0, vocab);
}

/** Logits of every hidden row for weight rows [v_begin, v_end). */
template <class VT, int TB>
VLMR1_INLINE void head_block_impl(const float* x, const float* w, int64_t rows, int64_t v_begin, int64_t v_end,
                                  int64_t vocab, int64_t h, float* out) {
  int64_t v = v_begin;
  for (; v + TILE_V <= v_end; v += TILE_V) tile_rows<VT, TILE_V, TB>(x, w, rows, v, vocab, h, out);
  for (; v < v_end; ++v) tile_rows<VT, 1, TB>(x, w, rows, v, vocab, h, out);
}

VLMR1_CLONES void head_block(const float* x, const float* w, int64_t rows, int64_t v_begin, int64_t v_end,
                             int64_t vocab, int64_t h, float* out) {
  head_block_impl<vf, 3>(x, w, rows, v_begin, v_end, vocab, h, out);
}

#if defined(__x86_64__) && !defined(VLMR1_NO_CLONES)
__attribute__((target("arch=x86-64-v4"))) void head_block_wide(const float* x, const float* w, int64_t rows,
                                                                 int64_t v_begin, int64_t v_end, int64_t vocab,
                                                                 int64_t h, float* out) {
  head_block_impl<vw, 4>(x, w, rows, v_begin, v_end, vocab, h, out);
}

bool wide_cpu() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v4");
}
#else
void head_block_wide(const float* x, const float* w, int64_t rows, int64_t v_begin, int64_t v_end, int64_t vocab,
                     int64_t h, float* out) {
  head_block(x, w, rows, v_begin, v_end, vocab, h, out);
}

bool wide_cpu() { return false; }
#endif

}  // namespace

void lm_head_logits(const float* hidden, const float* weight, int64_t rows, int64_t vocab, int64_t hidden_size,
                    float* out) {
  if (rows < 0 || vocab <= 0 || hidden_size <= 0)
    throw std::invalid_argument("lm_head_logits: bad shape rows=" + std::to_string(rows) + " vocab=" +
                                std::to_string(vocab) + " hidden=" + std::to_string(hidden_size));
  if (rows == 0) return;
  static const bool wide = wide_cpu();
  const int64_t blocks = (vocab + BLOCK_V - 1) / BLOCK_V;
#pragma omp parallel for schedule(dynamic)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t v0 = blk * BLOCK_V;
    const int64_t v1 = v0 + BLOCK_V < vocab ? v0 + BLOCK_V : vocab;
    if (wide) {
      head_block_wide(hidden, weight, rows, v0, v1, vocab, hidden_size, out);
    } else {
      head_block(hidden, weight, rows, v0, v1, vocab, hidden_size, out);
    }
  }
}

}  // namespace vlmr1
