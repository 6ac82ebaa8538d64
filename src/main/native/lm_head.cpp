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

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

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

// ------------------------------------------------------------------------------------------------ the pruned head
// Sampling with top-k (greedy is top-1) needs the exact logits of the k largest ids only. A decode step first reads
// a bf16 copy of the head (half the bytes) for approximate logits a with a proven bound |a - e| <= beta on the
// distance to the exact logits e that lm_head_logits computes; every id whose upper bound a + beta reaches the k-th
// largest lower bound a - beta is a candidate, and only the candidates get their exact logit, by the same
// fixed-order dot product as lm_head_logits (the same bits). Every id of the exact top-k, ties with the k-th
// included, is a candidate: at least k ids have e >= a - beta >= L, so the k-th largest e is >= L, and an id with
// a + beta < L has e < L.

namespace vlmr1 {
namespace {

/** float32 to bf16 bits, round to nearest even (libtorch's and the CPU kernels' rounding). */
inline uint16_t to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

}  // namespace

void lm_head_pack_bf16(const float* weight, int64_t vocab, int64_t hidden_size, uint16_t* out, double* norms) {
  if (vocab <= 0 || hidden_size <= 0)
    throw std::invalid_argument("lm_head_pack_bf16: bad shape vocab=" + std::to_string(vocab) + " hidden=" +
                                std::to_string(hidden_size));
#pragma omp parallel for schedule(static)
  for (int64_t v = 0; v < vocab; ++v) {
    const float* w = weight + v * hidden_size;
    uint16_t* o = out + v * hidden_size;
    double ss = 0.0;
    for (int64_t i = 0; i < hidden_size; ++i) {
      o[i] = to_bf16(w[i]);
      ss += static_cast<double>(w[i]) * w[i];
    }
    // an upper bound of the real 2-norm: the double sum and sqrt are off by far less than 1e-12 relative
    norms[v] = std::sqrt(ss) * (1.0 + 1e-12);
  }
}

void lm_head_logits_bf16(const float* hidden, const uint16_t* weight, int64_t rows, int64_t vocab,
                         int64_t hidden_size, float* out) {
  if (rows < 0 || vocab <= 0 || hidden_size <= 0)
    throw std::invalid_argument("lm_head_logits_bf16: bad shape rows=" + std::to_string(rows) + " vocab=" +
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

double lm_head_bound_factor(int64_t hidden_size) {
  // |a - e| <= |a - t'| + |t' - t| + |t - e| with t = sum w x (real), t' = sum bf16(w) x (real):
  //   the weights' rounding: |t' - t| <= u_bf16 S with S = sum |w x| and u_bf16 = 2^-8 (8 significant bits);
  //   each float32 dot product of n = hidden_size terms, in any order of fused or plain adds: <= gamma_n times its
  //   sum of |terms| (Higham, Accuracy and Stability, 3.1), gamma_n = n u / (1 - n u), u = 2^-24, and the bf16
  //   one's sum of |terms| is <= (1 + 2^-8) S.
  // S <= ||w|| ||x|| (Cauchy-Schwarz) is applied by the caller; 1.01 covers the double arithmetic of the bound.
  const double u = std::ldexp(1.0, -24);
  const double n = static_cast<double>(hidden_size);
  const double gamma = n * u / (1.0 - n * u);
  return 1.01 * (std::ldexp(1.0, -8) + gamma * (2.0 + std::ldexp(1.0, -8)));
}

int64_t lm_head_candidates(const float* hidden, int64_t rows, int64_t hidden_size, const float* weight,
                           const double* norms, int64_t vocab, const float* approx, const int64_t* exact_ids,
                           int64_t n_exact, int64_t k, int64_t cap, int64_t* ids, float* logits, int64_t* counts) {
  if (rows < 0 || vocab <= 0 || hidden_size <= 0 || k < 1 || k > vocab || cap < k || n_exact < 0)
    throw std::invalid_argument("lm_head_candidates: bad arguments rows=" + std::to_string(rows) + " vocab=" +
                                std::to_string(vocab) + " hidden=" + std::to_string(hidden_size) + " k=" +
                                std::to_string(k) + " cap=" + std::to_string(cap));
  std::vector<char> exact(vocab, 0);  // ids whose approx value is exact already (overwritten by a logit bias)
  for (int64_t j = 0; j < n_exact; ++j) {
    if (exact_ids[j] < 0 || exact_ids[j] >= vocab)
      throw std::invalid_argument("lm_head_candidates: exact id " + std::to_string(exact_ids[j]) + " is not in [0, " +
                                  std::to_string(vocab) + ")");
    exact[exact_ids[j]] = 1;
  }
  const double factor = lm_head_bound_factor(hidden_size);
  // 1e-30 absorbs subnormal results, whose absolute error is not relative to S (at most 2^-149 per operation)
  constexpr double FLOOR = 1e-30;
  int64_t widest = 0;
#pragma omp parallel for schedule(dynamic) reduction(max : widest)
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = hidden + r * hidden_size;
    const float* a = approx + r * vocab;
    double xx = 0.0;
    double x1 = 0.0;
    for (int64_t i = 0; i < hidden_size; ++i) {
      xx += static_cast<double>(x[i]) * x[i];
      x1 += std::fabs(static_cast<double>(x[i]));
    }
    const double scale = factor * std::sqrt(xx) * (1.0 + 1e-12);
    // a subnormal weight's bf16 rounding is absolute, at most 2^-134, not relative: add it for every term
    const double floor = FLOOR + std::ldexp(1.0, -133) * x1;
    // L: the k-th largest lower bound, by a min-heap of the k largest seen (most ids are rejected by one compare)
    std::vector<double> heap;
    heap.reserve(k);
    bool finite = true;
    for (int64_t v = 0; v < vocab; ++v) {
      const float av = a[v];
      if (!std::isfinite(av)) {
        finite = false;
        break;
      }
      const double lo = exact[v] ? av : av - (scale * norms[v] + floor);
      if (static_cast<int64_t>(heap.size()) < k) {
        heap.push_back(lo);
        std::push_heap(heap.begin(), heap.end(), std::greater<double>());
      } else if (lo > heap.front()) {
        std::pop_heap(heap.begin(), heap.end(), std::greater<double>());
        heap.back() = lo;
        std::push_heap(heap.begin(), heap.end(), std::greater<double>());
      }
    }
    if (!finite || !std::isfinite(scale) || !std::isfinite(floor)) {
      counts[r] = -1;
      continue;
    }
    const double bound = heap.front();
    int64_t* out_ids = ids + r * cap;
    float* out_logits = logits + r * cap;
    int64_t n = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      const double hi = exact[v] ? a[v] : a[v] + (scale * norms[v] + floor);
      if (hi >= bound) {
        if (n < cap) out_ids[n] = v;
        ++n;
      }
    }
    counts[r] = n;
    widest = n > widest ? n : widest;
    if (n > cap) continue;  // the caller computes every logit instead
    for (int64_t j = 0; j < n; ++j) {
      const int64_t v = out_ids[j];
      if (exact[v]) {
        out_logits[j] = a[v];
      } else {
        detail::dots(x, weight + v * hidden_size, 1, 0, 1, 1, hidden_size, out_logits + j);
        if (!std::isfinite(out_logits[j])) counts[r] = -1;
      }
    }
    for (int64_t j = n; j < cap; ++j) {
      out_ids[j] = 0;
      out_logits[j] = -std::numeric_limits<float>::infinity();
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (counts[r] < 0) return -1;
  }
  return widest;
}

}  // namespace vlmr1
