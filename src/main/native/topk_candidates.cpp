// topk_candidates: the top-k step of the tensor sampler (TensorSampler) on float32 logits (rows, vocab), replacing
// libtorch's topk over the whole row, the count of ids tied with the k-th value and the sort by id. Per row: the
// k-th largest value counted with multiplicity (a threshold scan that keeps only values above the running k-th,
// pruned with nth_element), then every id whose value is >= it, in id order. Exact comparisons only, no arithmetic on
// the values, so the result is the same bits as the libtorch composite on any CPU and any thread count. OpenMP over
// rows (static: each row is the same work).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vlmr1_kernels.h"

namespace vlmr1 {
namespace {

/**
 * The k-th largest value of row (vocab floats, no NaN), counted with multiplicity, 0 < k < vocab. Only values above
 * the running k-th can change it (an equal one leaves it where it is), so the scan keeps those and prunes to the k
 * largest whenever the buffer fills.
 */
float kth_largest(const float* row, int64_t vocab, int64_t k, std::vector<float>& buf) {
  buf.assign(row, row + k);
  std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), std::greater<float>());
  float t = buf[k - 1];
  const size_t limit = static_cast<size_t>(4 * k + 64);
  for (int64_t i = k; i < vocab; ++i) {
    if (row[i] > t) {
      buf.push_back(row[i]);
      if (buf.size() >= limit) {
        std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), std::greater<float>());
        buf.resize(k);
        t = *std::min_element(buf.begin(), buf.end());
      }
    }
  }
  std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), std::greater<float>());
  return buf[k - 1];
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
      bool nan = false;
      for (int64_t i = 0; i < vocab; ++i) nan |= std::isnan(row[i]);
      if (nan) {  // libtorch orders NaN above every value; the caller takes the composite path for such logits
        ++nan_rows;
        counts[r] = -1;
        continue;
      }
      const float t = kth_largest(row, vocab, k, buf);
      kth[r] = t;
      int64_t* out = ids + r * cap;
      int64_t n = 0;
      for (int64_t i = 0; i < vocab; ++i) {
        if (row[i] >= t) {
          if (n < cap) out[n] = i;
          ++n;
        }
      }
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
