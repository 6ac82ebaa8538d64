// The one dispatcher of row_dot.h's tiles: the per-CPU-class clones (AVX-512 with 16 lanes, 6 weight rows x 4 input
// rows per tile where the CPU has x86-64-v4, else the target clones of VLMR1_CLONES with 4 x 3), shared by lm_head.cpp
// and decode_linear.cpp.
#pragma GCC optimize("fp-contract=fast")

#include "row_dot.h"

namespace vlmr1 {
namespace detail {
namespace {

VLMR1_CLONES void dot_block(const float* x, const float* w, int64_t rows, int64_t r_begin, int64_t r_end,
                            int64_t stride, int64_t in, float* out) {
  head_block_impl<vf, 3, 4>(x, w, rows, r_begin, r_end, stride, in, out);
}

VLMR1_CLONES void dot_block(const float* x, const uint16_t* w, int64_t rows, int64_t r_begin, int64_t r_end,
                            int64_t stride, int64_t in, float* out) {
  head_block_impl<vf, 3, 4>(x, w, rows, r_begin, r_end, stride, in, out);
}

#if defined(__x86_64__) && !defined(VLMR1_NO_CLONES)
__attribute__((target("arch=x86-64-v4"))) void dot_block_wide(const float* x, const float* w, int64_t rows,
                                                                int64_t r_begin, int64_t r_end, int64_t stride,
                                                                int64_t in, float* out) {
  head_block_impl<vw, 4, 6>(x, w, rows, r_begin, r_end, stride, in, out);
}

__attribute__((target("arch=x86-64-v4"))) void dot_block_wide(const float* x, const uint16_t* w, int64_t rows,
                                                                int64_t r_begin, int64_t r_end, int64_t stride,
                                                                int64_t in, float* out) {
  head_block_impl<vw, 4, 6>(x, w, rows, r_begin, r_end, stride, in, out);
}

bool wide_cpu() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v4");
}
#else
void dot_block_wide(const float* x, const float* w, int64_t rows, int64_t r_begin, int64_t r_end, int64_t stride,
                    int64_t in, float* out) {
  dot_block(x, w, rows, r_begin, r_end, stride, in, out);
}

void dot_block_wide(const float* x, const uint16_t* w, int64_t rows, int64_t r_begin, int64_t r_end,
                    int64_t stride, int64_t in, float* out) {
  dot_block(x, w, rows, r_begin, r_end, stride, in, out);
}

bool wide_cpu() { return false; }
#endif

}  // namespace

/** out[c * stride + r] = dot(w row r, x row c) for r in [r_begin, r_end), on the widest code the CPU has. */
void dots(const float* x, const float* w, int64_t rows, int64_t r_begin, int64_t r_end, int64_t stride, int64_t in,
          float* out) {
  static const bool wide = wide_cpu();
  if (wide) {
    dot_block_wide(x, w, rows, r_begin, r_end, stride, in, out);
  } else {
    dot_block(x, w, rows, r_begin, r_end, stride, in, out);
  }
}

void dots(const float* x, const uint16_t* w, int64_t rows, int64_t r_begin, int64_t r_end, int64_t stride,
          int64_t in, float* out) {
  static const bool wide = wide_cpu();
  if (wide) {
    dot_block_wide(x, w, rows, r_begin, r_end, stride, in, out);
  } else {
    dot_block(x, w, rows, r_begin, r_end, stride, in, out);
  }
}

}  // namespace detail
}  // namespace vlmr1
