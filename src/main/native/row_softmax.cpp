// The CPU-dispatched entry points of the streaming row primitives (row_softmax.h): one clone per instruction set.
#include "row_softmax.h"

#include <stdexcept>
#include <string>

namespace vlmr1 {
namespace detail {

VLMR1_CLONES RowStats row_stats(const void* row, int dtype, int64_t vocab, float inv_t, bool entropy) {
  if (dtype == DTYPE_BF16) return row_stats_impl(static_cast<const uint16_t*>(row), vocab, inv_t, entropy);
  return row_stats_impl(static_cast<const float*>(row), vocab, inv_t, entropy);
}

VLMR1_CLONES void row_grad(const void* row, void* grad, int dtype, int64_t vocab, float inv_t, double lse,
                           double coef, int64_t target) {
  if (dtype == DTYPE_BF16)
    row_grad_impl(static_cast<const uint16_t*>(row), static_cast<uint16_t*>(grad), vocab, inv_t, lse, coef, target);
  else
    row_grad_impl(static_cast<const float*>(row), static_cast<float*>(grad), vocab, inv_t, lse, coef, target);
}

size_t dtype_size(int dtype) {
  switch (dtype) {
    case DTYPE_F32: return 4;
    case DTYPE_BF16: return 2;
    default: throw std::invalid_argument("unknown dtype code " + std::to_string(dtype) + " (0 = f32, 1 = bf16)");
  }
}

}  // namespace detail

const char* kernel_isa() {
#if defined(__x86_64__) && !defined(VLMR1_NO_CLONES)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4 (AVX-512)";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3 (AVX2+FMA)";
  return "x86-64 baseline";
#else
  return "portable";
#endif
}

}  // namespace vlmr1
