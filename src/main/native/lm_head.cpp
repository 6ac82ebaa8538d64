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

/** This thread's buffer of at least n doubles, kept between calls (a row's lower bounds: 1.2 MB at V = 151,936). */
std::vector<double>& scratch(int64_t n) {
  thread_local std::vector<double> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(n);
  return buf;
}

using detail::vf;
using detail::vi;

/** This thread's id buffer, kept between calls. */
std::vector<int64_t>& near_ids() {
  thread_local std::vector<int64_t> buf;
  return buf;
}

/** Whether every a[0, n) is finite: x - x is 0 for a finite x and NaN otherwise, and a NaN survives the sum. */
VLMR1_CLONES bool all_finite(const float* a, int64_t n) {
  vf acc = {};
  int64_t v = 0;
  for (; v + detail::VL <= n; v += detail::VL) {
    const vf x = detail::loadv(a + v);
    acc += x - x;
  }
  float s = 0.0f;
  for (int i = 0; i < detail::VL; ++i) s += acc[i];
  for (; v < n; ++v) s += a[v] - a[v];
  return s == 0.0f;
}

/**
 * Appends to out every v in [0, n) with a[v] >= t, ascending. Nearly every block of 16 has none, so the loop tests
 * 16 at a time with vector compares and looks at single values only in a block with a hit.
 */
VLMR1_CLONES void collect_ge(const float* a, int64_t n, float t, std::vector<int64_t>& out) {
  typedef uint64_t vq __attribute__((vector_size(32)));
  const vf tv = detail::splat(t);
  int64_t v = 0;
  for (; v + 2 * detail::VL <= n; v += 2 * detail::VL) {
    const vi hit = (detail::loadv(a + v) >= tv) | (detail::loadv(a + v + detail::VL) >= tv);
    const vq q = reinterpret_cast<vq>(hit);
    if ((q[0] | q[1] | q[2] | q[3]) != 0) {
      for (int64_t j = v; j < v + 2 * detail::VL; ++j) {
        if (a[j] >= t) out.push_back(j);
      }
    }
  }
  for (; v < n; ++v) {
    if (a[v] >= t) out.push_back(v);
  }
}

/**
 * The k-th largest of a[0, n) counted with multiplicity (1 <= k <= n), all finite. The k-th largest of a prefix is a
 * lower bound t0 of the row's, so the row's is the k-th largest of the values >= t0: one vector pass over the row,
 * and selections over a prefix and over the few values that pass.
 */
float kth_largest(const float* a, int64_t n, int64_t k) {
  const int64_t prefix = std::min<int64_t>(n, std::max<int64_t>(64 * k, 4096));
  std::vector<float> pick(a, a + prefix);
  std::nth_element(pick.begin(), pick.begin() + (k - 1), pick.end(), std::greater<float>());
  if (prefix == n) return pick[k - 1];
  std::vector<int64_t>& at = near_ids();
  at.clear();
  collect_ge(a, n, pick[k - 1], at);
  pick.clear();
  for (const int64_t v : at) pick.push_back(a[v]);
  std::nth_element(pick.begin(), pick.begin() + (k - 1), pick.end(), std::greater<float>());
  return pick[k - 1];
}

/** float32 to bf16 bits, round to nearest even (libtorch's and the CPU kernels' rounding). */
inline uint16_t to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

/** One head row to bf16 (o), returning an upper bound of its 2-norm. */
VLMR1_CLONES double pack_row(const float* w, int64_t h, uint16_t* o) {
  double ss = 0.0;
  // any order of the double sum is within far less than 1e-12 of the real one: let it vectorise
#pragma omp simd reduction(+ : ss)
  for (int64_t i = 0; i < h; ++i) {
    o[i] = to_bf16(w[i]);
    ss += static_cast<double>(w[i]) * w[i];
  }
  return std::sqrt(ss) * (1.0 + 1e-12);
}

}  // namespace

void lm_head_pack_bf16(const float* weight, int64_t vocab, int64_t hidden_size, uint16_t* out, double* norms) {
  if (vocab <= 0 || hidden_size <= 0)
    throw std::invalid_argument("lm_head_pack_bf16: bad shape vocab=" + std::to_string(vocab) + " hidden=" +
                                std::to_string(hidden_size));
#pragma omp parallel for schedule(static)
  for (int64_t v = 0; v < vocab; ++v) {
    norms[v] = pack_row(weight + v * hidden_size, hidden_size, out + v * hidden_size);
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
  // (AVX512-BF16's VDPBF16PS, rounding x to bf16 as well, was measured no faster here: at B = 16 the approximate
  // logits were 35 ms either way, and the looser bound doubled the candidates.)
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
  double max_norm = 0.0;
  for (int64_t v = 0; v < vocab; ++v) max_norm = norms[v] > max_norm ? norms[v] : max_norm;
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
    // An absolute term beyond f ||w|| ||x||: a subnormal weight's bf16 rounding is absolute (below 2^-134 |x_i| per
    // term); 2^-125 (||w||_1 + ||x||_1), with ||w||_1 <= sqrt(H) ||w||, covers it with room.
    const double scale = (factor * std::sqrt(xx) + std::ldexp(1.0, -125) * std::sqrt(static_cast<double>(
        hidden_size))) * (1.0 + 1e-12);
    const double floor = FLOOR + std::ldexp(1.0, -125) * x1;
    if (!std::isfinite(scale) || !std::isfinite(floor)) {
      counts[r] = -1;
      continue;
    }
    // Every lower bound is >= a - beta_max and every upper bound <= a + beta_max, so with kth_a the k-th largest a,
    // L >= kth_a - beta_max and a candidate has a >= L - beta_max >= kth_a - 2 beta_max =: T: the bounds are needed
    // only on the few ids with a >= T, and L is the k-th largest lower bound among them (the k ids of a's top k are
    // among them and the others' lower bounds are below T). Two float passes over the row, then work on a few ids.
    if (!all_finite(a, vocab)) {
      counts[r] = -1;
      continue;
    }
    const float kth_a = kth_largest(a, vocab, k);
    const double beta_max = scale * max_norm + floor;
    // T rounded down: the double subtraction's own rounding (<= 2^-53 of its operands) is taken off first
    const double t = static_cast<double>(kth_a) - 2.0 * beta_max - 1e-15 * (std::fabs(kth_a) + 2.0 * beta_max);
    float tf = static_cast<float>(t);
    if (static_cast<double>(tf) > t) tf = std::nextafter(tf, -std::numeric_limits<float>::infinity());
    std::vector<int64_t>& near = near_ids();  // ids with a >= T, ascending
    near.clear();
    collect_ge(a, vocab, tf, near);
    std::vector<double>& lower = scratch(static_cast<int64_t>(near.size()));
    for (size_t j = 0; j < near.size(); ++j) {
      const int64_t v = near[j];
      lower[j] = exact[v] ? a[v] : a[v] - (scale * norms[v] + floor);
    }
    std::vector<double> pick(lower.begin(), lower.begin() + near.size());
    std::nth_element(pick.begin(), pick.begin() + (k - 1), pick.end(), std::greater<double>());
    const double bound = pick[k - 1];
    int64_t* out_ids = ids + r * cap;
    float* out_logits = logits + r * cap;
    int64_t n = 0;
    for (const int64_t v : near) {
      // an overwritten column's upper bound a + beta is above its exact a: a candidate more, never one fewer
      if (a[v] + (scale * norms[v] + floor) >= bound) {
        if (n < cap) out_ids[n] = v;
        ++n;
      }
    }
    counts[r] = n;
    widest = n > widest ? n : widest;
    if (n > cap) continue;  // the caller computes every logit instead
    auto prefetch_row = [&](int64_t j) {  // a candidate's row streams from memory while the one before computes
      if (j < n && !exact[out_ids[j]]) {
        const char* p = reinterpret_cast<const char*>(weight + out_ids[j] * hidden_size);
        for (int64_t off = 0; off < hidden_size * 4; off += 64) __builtin_prefetch(p + off, 0, 1);
      }
    };
    prefetch_row(0);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t v = out_ids[j];
      prefetch_row(j + 1);
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
