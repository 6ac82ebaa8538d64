// lora_dropout_mask: the LoRA adapters' keyed dropout mask of model/LoraDropout.java, bit for bit.
// out[r, j] = scale where (splitmix64(row_key[r / len] ^ (positions[r] * in + j)) >>> 11) * 2^-53 >= p, else 0, in
// uint64 arithmetic (Java's wrapping long; positions of pads are negative). The draw is compared as an integer,
// (h >>> 11) >= ceil(p * 2^53), which is the same test exactly (p * 2^53 is exact in double) and vectorises.
// scale = 1 / (1 - p) is written as libtorch's `keep.to(dtype).mul(scale)` rounds it: f64 scale, f32 (float) scale,
// bf16 the round-to-nearest-even of (float) scale. Rows run in parallel; every element is independent.
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "row_softmax.h"
#include "vlmr1_kernels.h"

namespace vlmr1 {
namespace {

VLMR1_INLINE uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

template <class T>
VLMR1_INLINE void mask_row_impl(uint64_t key, uint64_t first, int64_t in, uint64_t threshold, T scale, T* out) {
  for (int64_t j = 0; j < in; ++j) {
    uint64_t h = splitmix64(key ^ (first + static_cast<uint64_t>(j)));
    out[j] = (h >> 11) >= threshold ? scale : T(0);
  }
}

VLMR1_CLONES void mask_row_f32(uint64_t key, uint64_t first, int64_t in, uint64_t threshold, float scale,
                               float* out) {
  mask_row_impl<float>(key, first, in, threshold, scale, out);
}

VLMR1_CLONES void mask_row_u16(uint64_t key, uint64_t first, int64_t in, uint64_t threshold, uint16_t scale,
                               uint16_t* out) {
  mask_row_impl<uint16_t>(key, first, in, threshold, scale, out);
}

VLMR1_CLONES void mask_row_f64(uint64_t key, uint64_t first, int64_t in, uint64_t threshold, double scale,
                               double* out) {
  mask_row_impl<double>(key, first, in, threshold, scale, out);
}

/** c10::BFloat16's float -> bf16 (round to nearest even) of a finite value. */
uint16_t bf16_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return static_cast<uint16_t>((bits + (((bits >> 16) & 1u) + 0x7FFFu)) >> 16);
}

}  // namespace

void lora_dropout_mask(const int64_t* row_keys, const int64_t* positions, int64_t rows, int64_t len, int64_t in,
                       double p, int dtype, void* out) {
  if (rows < 0 || len < 0 || in < 0)
    throw std::invalid_argument("lora_dropout_mask: negative size (rows " + std::to_string(rows) + ", len " +
                                std::to_string(len) + ", in " + std::to_string(in) + ")");
  if (!(p >= 0 && p < 1))
    throw std::invalid_argument("lora_dropout_mask: p must be in [0, 1), got " + std::to_string(p));
  if (dtype != DTYPE_F32 && dtype != DTYPE_BF16 && dtype != DTYPE_F64)
    throw std::invalid_argument("lora_dropout_mask: unknown dtype code " + std::to_string(dtype) +
                                " (0 = f32, 1 = bf16, 2 = f64)");
  const double scale = 1.0 / (1.0 - p);
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(p * 0x1p53));
  const float scale_f = static_cast<float>(scale);
  const uint16_t scale_bf16 = bf16_bits(scale_f);
  const int64_t n = rows * len;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < n; ++r) {
    const uint64_t key = static_cast<uint64_t>(row_keys[r / len]);
    const uint64_t first = static_cast<uint64_t>(positions[r]) * static_cast<uint64_t>(in);
    if (dtype == DTYPE_F32) {
      mask_row_f32(key, first, in, threshold, scale_f, static_cast<float*>(out) + r * in);
    } else if (dtype == DTYPE_BF16) {
      mask_row_u16(key, first, in, threshold, scale_bf16, static_cast<uint16_t*>(out) + r * in);
    } else {
      mask_row_f64(key, first, in, threshold, scale, static_cast<double*>(out) + r * in);
    }
  }
}

}  // namespace vlmr1
