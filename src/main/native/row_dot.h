// Fixed-order dot products of a few input rows against weight rows (internal header of lm_head.cpp and
// decode_linear.cpp): out[c * stride + r] = dot(w row r, x row c). A tile of TILE_V weight rows stays in L1 while the
// input rows pass over it, TB rows at a time; each output is one dot product in a fixed order (16 lanes on AVX-512
// CPUs, else 8; then the lanes pairwise; then the scalar tail), so results do not depend on how the weight rows are
// split among threads. Include it from files compiled with fp-contract=fast (the multiply-adds fuse on AVX2/AVX-512).
#pragma once

#include "row_softmax.h"

namespace vlmr1 {
namespace detail {

// The weight tile of TV rows stays in L1 while every hidden row passes over it, TB hidden rows at a time.
// Narrow: 8-lane vectors, 4 x 3 accumulators + 4 weight vectors + 1 hidden vector fit AVX2's 16 registers.
// Wide (AVX-512 only): 16-lane vectors, 6 x 4 accumulators + 6 weight vectors + 1 hidden vector in 31 of the 32
// registers: 10 loads per 24 multiply-adds where 4 x 4 took 8 per 16. On this machine's AVX-512 Xeon, the LM head at
// B = 16, V = 151,936, H = 1024 on 2 threads: 57-61 ms -> 46-49 ms; B = 1, 4, 8 within the noise. The order of each
// dot product does not depend on the tile, so the bits are the same.
typedef float vw __attribute__((vector_size(64)));

template <class VT>
VLMR1_INLINE VT loadt(const float* p) {
  VT v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/** A vector of bf16 weights (the pruned head's copy) widened to float32: the bits shifted into the high half. */
template <class VT>
VLMR1_INLINE VT loadt(const uint16_t* p);

template <>
VLMR1_INLINE vf loadt<vf>(const uint16_t* p) {
  return loadv(p);
}

typedef uint16_t vh16 __attribute__((vector_size(32)));
typedef uint32_t vu16 __attribute__((vector_size(64)));

template <>
VLMR1_INLINE vw loadt<vw>(const uint16_t* p) {
  vh16 h;
  std::memcpy(&h, p, sizeof h);
  const vu16 u = __builtin_convertvector(h, vu16) << 16;
  vw v;
  std::memcpy(&v, &u, sizeof v);
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

/**
 * The weight rows that the next tile reads, prefetched into L2 while this tile computes: [next, end) in steps of
 * `lines` cache lines per k step. The weights stream from memory once, and a row of 1024 floats is one 4 KiB page,
 * where the hardware prefetcher stops; without this each tile's first pass waits on memory (single-thread LM head
 * B = 16, V = 151,936, H = 1024: 91 -> 80 ms of CPU on this machine).
 */
template <class W>
struct Prefetch {
  static constexpr int LINE = 64 / sizeof(W);  // elements per cache line
  const W* next;
  const W* end;
  int lines;
};

template <class W>
VLMR1_INLINE void prefetch_step(Prefetch<W>& pf) {
  for (int i = 0; i < pf.lines && pf.next < pf.end; ++i, pf.next += Prefetch<W>::LINE) {
    __builtin_prefetch(pf.next, 0, 2);
  }
}

/** out[c * vocab + r] = dot(w + r * h, x + c * h) for r < RV, c < CB. */
template <class VT, int RV, int CB, class W>
VLMR1_INLINE void tile(const W* w, const float* x, int64_t h, float* out, int64_t vocab, Prefetch<W>& pf) {
  constexpr int L = sizeof(VT) / sizeof(float);
  VT acc[RV][CB] = {};
  int64_t k = 0;
  for (; k + L <= h; k += L) {
    prefetch_step(pf);
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
      for (int64_t j = k; j < h; ++j) s += load(w, r * h + j) * x[c * h + j];
      out[c * vocab + r] = s;
    }
  }
}

/** The last rem < TB hidden rows against the weight tile. */
template <class VT, int RV, int N, class W>
VLMR1_INLINE void tile_tail(const W* w, const float* x, int64_t rem, int64_t h, float* out, int64_t vocab,
                            Prefetch<W>& pf) {
  if constexpr (N > 0) {
    if (rem == N) {
      tile<VT, RV, N>(w, x, h, out, vocab, pf);
    } else {
      tile_tail<VT, RV, N - 1>(w, x, rem, h, out, vocab, pf);
    }
  }
}

/**
 * Every hidden row against weight rows [v0, v0 + RV), prefetching rows [v0 + RV, pf_end) (the next tile, within the
 * caller's block) spread over the passes.
 */
template <class VT, int RV, int TB, class W>
VLMR1_INLINE void tile_rows(const float* x, const W* w, int64_t rows, int64_t v0, int64_t vocab, int64_t h,
                            float* out, int64_t pf_end) {
  constexpr int L = sizeof(VT) / sizeof(float);
  constexpr int LINE = Prefetch<W>::LINE;
  const W* wr = w + v0 * h;
  const int64_t passes = (rows + TB - 1) / TB;
  const int64_t k_steps = h / L;
  const int64_t pf_rows = pf_end - (v0 + RV);
  const int64_t lines = pf_rows > 0 ? (pf_rows * h + LINE - 1) / LINE : 0;
  const int64_t per_step = passes > 0 && k_steps > 0 ? (lines + passes * k_steps - 1) / (passes * k_steps) : 0;
  Prefetch<W> pf{wr + RV * h, pf_rows > 0 ? w + pf_end * h : wr, static_cast<int>(per_step)};
  int64_t c = 0;
  for (; c + TB <= rows; c += TB) tile<VT, RV, TB>(wr, x + c * h, h, out + c * vocab + v0, vocab, pf);
  tile_tail<VT, RV, TB - 1>(wr, x + c * h, rows - c, h, out + c * vocab + v0, vocab, pf);
}

/**
 * out[c * vocab + v] for every input row c and weight rows v in [v_begin, v_end) (vocab: the output stride), TILE_V
 * weight rows and TB input rows per tile.
 */
template <class VT, int TB, int TILE_V, class W>
VLMR1_INLINE void head_block_impl(const float* x, const W* w, int64_t rows, int64_t v_begin, int64_t v_end,
                                  int64_t vocab, int64_t h, float* out) {
  int64_t v = v_begin;
  for (; v + TILE_V <= v_end; v += TILE_V) {
    const int64_t pf_end = v + 2 * TILE_V < v_end ? v + 2 * TILE_V : v_end;
    tile_rows<VT, TILE_V, TB>(x, w, rows, v, vocab, h, out, pf_end);
  }
  for (; v < v_end; ++v) tile_rows<VT, 1, TB>(x, w, rows, v, vocab, h, out, v_end < v + 2 ? v_end : v + 2);
}

/**
 * out[c * stride + r] = dot(w row r, x row c) for c < rows and r in [r_begin, r_end), on the widest code the CPU has
 * (row_dot.cpp): the entry point of lm_head.cpp and decode_linear.cpp.
 */
void dots(const float* x, const float* w, int64_t rows, int64_t r_begin, int64_t r_end, int64_t stride, int64_t in,
          float* out);

/** dots() against bf16 weight rows (each widened to float32 exactly), the same tiles and order. */
void dots(const float* x, const uint16_t* w, int64_t rows, int64_t r_begin, int64_t r_end, int64_t stride,
          int64_t in, float* out);

}  // namespace detail
}  // namespace vlmr1
