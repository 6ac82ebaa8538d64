// topk_candidates: the top-k step of the tensor sampler (TensorSampler) on float32 logits (rows, vocab), replacing
// libtorch's topk over the whole row, the count of ids tied with the k-th value and the sort by id. Per row: the
// k-th largest value counted with multiplicity (a threshold scan that keeps only values above the running k-th,
// pruned with nth_element), then every id whose value is >= it, in id order; both scans test 16 values at once.
// Exact comparisons only, no arithmetic on the values, so the result is the same bits as the libtorch composite on
// any CPU and any thread count. OpenMP over rows (static: each row is the same work).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "row_softmax.h"

namespace vlmr1 {
namespace {

using detail::loadv;
using detail::splat;
using detail::vf;
using detail::vi;
constexpr int STEP = 2 * detail::VL;  // 16 values per vector test

/** Whether any lane is set. */
VLMR1_INLINE bool any(vi m) {
  uint64_t q[4];
  std::memcpy(q, &m, sizeof q);
  return (q[0] | q[1] | q[2] | q[3]) != 0;
}

/**
 * The k-th largest value of row (vocab floats), counted with multiplicity, 0 < k < vocab; NaN when the row holds one.
 * Only values above the running k-th can change it (an equal one leaves it where it is), so the scan keeps those,
 * 16 values per vector test, and prunes to the k largest whenever the buffer fills.
 */
VLMR1_CLONES float kth_largest(const float* row, int64_t vocab, int64_t k, std::vector<float>& buf) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 0; i < k; ++i)
    if (std::isnan(row[i])) return nan;
  buf.assign(row, row + k);
  std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), std::greater<float>());
  float t = buf[k - 1];
  const size_t limit = static_cast<size_t>(4 * k + 64);
  int64_t i = k;
  while (i < vocab) {
    const int64_t end = i + STEP <= vocab ? i + STEP : vocab;
    if (end - i == STEP) {
      const vf a = loadv(row + i), b = loadv(row + i + detail::VL), tv = splat(t);
      if (!any((a > tv) | (b > tv) | (a != a) | (b != b))) {
        i = end;
        continue;
      }
    }
    for (; i < end; ++i) {
      const float x = row[i];
      if (x != x) return nan;
      if (x > t) {
        buf.push_back(x);
        if (buf.size() >= limit) {
          std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), std::greater<float>());
          buf.resize(k);
          t = *std::min_element(buf.begin(), buf.end());
        }
      }
    }
  }
  std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), std::greater<float>());
  return buf[k - 1];
}

/** Writes the ids whose value is >= t, in id order, into out (at most cap); returns how many there are. */
VLMR1_CLONES int64_t ids_at_least(const float* row, int64_t vocab, float t, int64_t cap, int64_t* out) {
  int64_t n = 0;
  int64_t i = 0;
  while (i < vocab) {
    const int64_t end = i + STEP <= vocab ? i + STEP : vocab;
    if (end - i == STEP) {
      const vf tv = splat(t);
      if (!any((loadv(row + i) >= tv) | (loadv(row + i + detail::VL) >= tv))) {
        i = end;
        continue;
      }
    }
    for (; i < end; ++i) {
      if (row[i] >= t) {
        if (n < cap) out[n] = i;
        ++n;
      }
    }
  }
  return n;
}

}  // namespace

int64_t topk_candidates(const float* logits, int64_t rows, int64_t vocab, int64_t k, int64_t cap, int64_t* ids,
                        float* kth, int64_t* counts) {
  if (rows < 0 || vocab <= 0 || k <= 0 || k >= vocab || cap < k || cap > vocab)
    throw std::invalid_argument("topk_candidates: bad arguments rows=" + std::to_string(rows) + " vocab=" +
                                std::to_string(vocab) + " k=" + std::to_string(k) + " cap=" + std::to_string(cap) +
                                " (need 0 < k < vocab, k <= cap <= vocab)");
  int64_t nan_rows = 0;
#pragma omp parallel reduction(+ : nan_rows)
  {
    std::vector<float> buf;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = logits + r * vocab;
      const float t = kth_largest(row, vocab, k, buf);
      if (std::isnan(t)) {  // libtorch orders NaN above every value; the caller takes the composite path
        ++nan_rows;
        counts[r] = -1;
        continue;
      }
      kth[r] = t;
      int64_t* out = ids + r * cap;
      const int64_t n = ids_at_least(row, vocab, t, cap, out);
      counts[r] = n;
      // Fill the rest with ids below the k-th value (their weight is 0 in the sampler), in id order.
      for (int64_t i = 0, m = n; m < cap && i < vocab; ++i) {
        if (row[i] < t) out[m++] = i;
      }
    }
  }
  if (nan_rows > 0) return -1;
  int64_t widest = 0;
  for (int64_t r = 0; r < rows; ++r) widest = std::max(widest, counts[r]);
  return widest;
}

}  // namespace vlmr1
