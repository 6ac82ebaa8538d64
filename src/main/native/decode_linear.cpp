// decode_projections and decode_swiglu: a decode step's linear layers, a few input rows (B, in) against weights
// (out, in) read once, like lm_head_logits (row_dot.h) but for the projections of a decoder layer.
// decode_projections computes up to three projections of the same input (q/k/v) in one OpenMP region whose work
// items are blocks of BLOCK weight rows over all of them, so the small K/V projections (2 KV heads x 64 = 128 rows)
// do not leave a thread idle, and one region replaces three. Bias (optional) is added after the dot product, as
// torch.linear's y + b. decode_swiglu fuses SwiGLU's gate and up projections and silu(gate) * up: each work item
// computes a block of both and writes only the product, so the (B, intermediate) gate and up never exist.
// Forward only (decode needs no gradient). Each output is one thread's fixed-order dot product (row_dot.h), so results
// do not depend on the thread count; the AVX2/AVX-512 code fuses multiply-adds, the baseline clone cannot.
#pragma GCC optimize("fp-contract=fast")

#include <omp.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "row_dot.h"

namespace vlmr1 {
namespace {

using detail::dots;

constexpr int64_t BLOCK = 60;  // weight rows per work item: whole 4- and 6-row tiles, 3 for a 128-row K/V projection
constexpr int MAX_ROWS = 64;   // input rows decode_swiglu accepts (its per-item scratch lives on the stack)

void check(bool ok, const char* op, const std::string& what) {
  if (!ok) throw std::invalid_argument(std::string(op) + ": " + what);
}

/** torch.silu in float32: x / (1 + exp(-x)). */
inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace

void decode_projections(const float* x, int64_t rows, int64_t in, const float* w0, const float* b0, int64_t n0,
                        float* out0, const float* w1, const float* b1, int64_t n1, float* out1, const float* w2,
                        const float* b2, int64_t n2, float* out2) {
  check(rows >= 0 && in > 0, "decode_projections", "bad shape rows=" + std::to_string(rows) + " in=" +
                                                       std::to_string(in));
  const float* w[3] = {w0, w1, w2};
  const float* b[3] = {b0, b1, b2};
  const int64_t n[3] = {w0 ? n0 : 0, w1 ? n1 : 0, w2 ? n2 : 0};
  float* out[3] = {out0, out1, out2};
  int64_t first[4] = {0, 0, 0, 0};  // work items of projections before j
  for (int j = 0; j < 3; ++j) {
    check(n[j] >= 0 && (n[j] == 0 || out[j] != nullptr), "decode_projections",
          "projection " + std::to_string(j) + " has " + std::to_string(n[j]) + " outputs and no output buffer");
    first[j + 1] = first[j] + (n[j] + BLOCK - 1) / BLOCK;
  }
  if (rows == 0) return;
#pragma omp parallel for schedule(dynamic)
  for (int64_t item = 0; item < first[3]; ++item) {
    const int j = item < first[1] ? 0 : item < first[2] ? 1 : 2;
    const int64_t r0 = (item - first[j]) * BLOCK;
    const int64_t r1 = r0 + BLOCK < n[j] ? r0 + BLOCK : n[j];
    dots(x, w[j], rows, r0, r1, n[j], in, out[j]);
    if (b[j] != nullptr) {
      for (int64_t c = 0; c < rows; ++c)
        for (int64_t r = r0; r < r1; ++r) out[j][c * n[j] + r] += b[j][r];
    }
  }
}

void decode_swiglu(const float* x, int64_t rows, int64_t in, const float* w_gate, const float* w_up, int64_t n,
                   float* out) {
  check(rows >= 0 && rows <= MAX_ROWS && in > 0 && n > 0, "decode_swiglu",
        "bad shape rows=" + std::to_string(rows) + " (at most " + std::to_string(MAX_ROWS) + ") in=" +
            std::to_string(in) + " intermediate=" + std::to_string(n));
  if (rows == 0) return;
  const int64_t items = (n + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(dynamic)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t r0 = item * BLOCK;
    const int64_t len = r0 + BLOCK < n ? BLOCK : n - r0;
    float gate[MAX_ROWS * BLOCK];
    float up[MAX_ROWS * BLOCK];
    dots(x, w_gate + r0 * in, rows, 0, len, len, in, gate);  // (rows, len)
    dots(x, w_up + r0 * in, rows, 0, len, len, in, up);
    for (int64_t c = 0; c < rows; ++c)
      for (int64_t r = 0; r < len; ++r) out[c * n + r0 + r] = silu(gate[c * len + r]) * up[c * len + r];
  }
}

}  // namespace vlmr1
