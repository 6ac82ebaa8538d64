// Streaming per-row softmax primitives shared by the token log-prob and GRPO loss kernels (internal header).
// One row of a (rows, V) logits matrix is read once in chunks that stay in L1: the chunk's max first, then its
// exponentials against the running max (online log-sum-exp, rescaling the running sums when the max grows).
// Sums use 16 float lanes per chunk (a fixed, vectorisable order) folded into doubles per chunk, so a row's result
// is the same bits whatever the thread count. exp is a Cephes-style polynomial (relative error ~1e-7) that the
// compiler vectorises without -ffast-math, which we avoid because it would assume away the -inf logits we must handle.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "vlmr1_kernels.h"

#define VLMR1_INLINE inline __attribute__((always_inline))

// The row kernels are compiled three times and picked at load time by the CPU (GNU ifunc): AVX-512, AVX2+FMA, and the
// x86-64 baseline, so one binary is fast on the build machine's class of CPU and still safe on any x86-64.
#if defined(__x86_64__) && !defined(VLMR1_NO_CLONES)
#define VLMR1_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VLMR1_CLONES
#endif

namespace vlmr1 {
namespace detail {

// 8-lane vectors in GCC's vector extensions, two per step (16 floats): the lane order, and so every sum, is the same
// in every clone; GCC lowers a vector to one AVX2/AVX-512 register or two SSE2 ones.
constexpr int VL = 8;
constexpr int LANES = 2 * VL;
typedef float vf __attribute__((vector_size(32)));
typedef int32_t vi __attribute__((vector_size(32)));
typedef uint32_t vu __attribute__((vector_size(32)));
typedef uint16_t vh __attribute__((vector_size(16)));

constexpr int64_t CHUNK = 2048;  // 8 KiB of f32: the second look at a chunk hits L1

VLMR1_INLINE vf splat(float f) { return vf{} + f; }

VLMR1_INLINE float load(const float* p, int64_t i) { return p[i]; }
VLMR1_INLINE float load(const uint16_t* p, int64_t i) {
  uint32_t bits = static_cast<uint32_t>(p[i]) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
VLMR1_INLINE vf loadv(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
VLMR1_INLINE vf loadv(const uint16_t* p) {
  vh h;
  std::memcpy(&h, p, sizeof h);
  return reinterpret_cast<vf>(__builtin_convertvector(h, vu) << 16);
}

VLMR1_INLINE void store(float* p, int64_t i, float v) { p[i] = v; }
VLMR1_INLINE void store(uint16_t* p, int64_t i, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);  // round to nearest even; gradients are finite
  p[i] = static_cast<uint16_t>(bits >> 16);
}
VLMR1_INLINE void storev(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
VLMR1_INLINE void storev(uint16_t* p, vf v) {
  typedef uint16_t vw __attribute__((vector_size(32)));  // the same bits as 16 halves
  vu bits = reinterpret_cast<vu>(v);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  // Keep the high half of each lane: one shuffle (convertvector's narrowing is lowered lane by lane on AVX2).
  vw w = reinterpret_cast<vw>(bits);
  vh h = __builtin_shufflevector(w, w, 1, 3, 5, 7, 9, 11, 13, 15);
  std::memcpy(p, &h, sizeof h);
}

constexpr float EXP_LO = -87.3f;  // below it expf goes subnormal; a softmax term there is 0
constexpr float EXP_MAGIC = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer

/** exp(x) for x <= 0 (Cephes expf polynomial); 0 below EXP_LO. */
VLMR1_INLINE vf exp_nonpos(vf x) {
  vf xc = x < EXP_LO ? splat(EXP_LO) : x;
  xc = xc > 0.0f ? splat(0.0f) : xc;
  vf n = (xc * 1.44269504088896341f + EXP_MAGIC) - EXP_MAGIC;
  vf r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  vi e = (__builtin_convertvector(n, vi) + 127) << 23;
  vf y = p * reinterpret_cast<vf>(e);
  return x < EXP_LO ? splat(0.0f) : y;
}

VLMR1_INLINE float exp_nonpos(float x) {
  vf v = exp_nonpos(splat(x));
  return v[0];
}

/** Result of one streaming pass over a row of logits / temperature. */
struct RowStats {
  double lse;      // log sum exp(x / T)
  double entropy;  // -sum p log p, when asked for
};

/**
 * Online log-sum-exp (and entropy) of x * inv_t over one row. The entropy uses
 * H = log S - (sum e_i d_i) / S with d_i = x_i*inv_t - M and e_i = exp(d_i), kept relative to the running max M.
 */
template <typename T>
VLMR1_INLINE RowStats row_stats_impl(const T* row, int64_t vocab, float inv_t, bool entropy) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  double m = neg_inf;  // running max of x * inv_t
  double s = 0.0;      // sum exp(x*inv_t - m)
  double sd = 0.0;     // sum exp(x*inv_t - m) * (x*inv_t - m)
  for (int64_t c0 = 0; c0 < vocab; c0 += CHUNK) {
    const int64_t len = vocab - c0 < CHUNK ? vocab - c0 : CHUNK;
    const int64_t vlen = len - len % LANES;
    const T* x = row + c0;
    vf mx0 = splat(neg_inf), mx1 = mx0;
    vi nan0 = vi{}, nan1 = vi{};
    for (int64_t i = 0; i < vlen; i += LANES) {
      vf v0 = loadv(x + i) * inv_t, v1 = loadv(x + i + VL) * inv_t;
      mx0 = v0 > mx0 ? v0 : mx0;
      mx1 = v1 > mx1 ? v1 : mx1;
      nan0 |= v0 != v0;
      nan1 |= v1 != v1;
    }
    float cm = neg_inf;
    bool nan = false;
    for (int j = 0; j < VL; ++j) {
      cm = mx0[j] > cm ? mx0[j] : cm;
      cm = mx1[j] > cm ? mx1[j] : cm;
      nan = nan || nan0[j] || nan1[j];
    }
    for (int64_t i = vlen; i < len; ++i) {
      float v = load(x, i) * inv_t;
      cm = v > cm ? v : cm;
      nan = nan || v != v;
    }
    if (nan) return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
    if (cm == neg_inf) continue;  // the whole chunk has probability 0
    if (cm > m) {
      if (m != neg_inf) {
        const double shift = m - cm;  // < 0
        const double f = std::exp(shift);
        sd = f * (sd + shift * s);
        s = f * s;
      }
      m = cm;
    }
    const float mf = static_cast<float>(m);
    vf es0 = splat(0.0f), es1 = es0, eds0 = es0, eds1 = es0;
    if (entropy) {
      const vf floor = splat(-100.0f);  // keeps 0 * (-inf) out of the sum; exp(-100) is 0 here
      for (int64_t i = 0; i < vlen; i += LANES) {
        vf d0 = loadv(x + i) * inv_t - mf, d1 = loadv(x + i + VL) * inv_t - mf;
        d0 = d0 < floor ? floor : d0;
        d1 = d1 < floor ? floor : d1;
        vf e0 = exp_nonpos(d0), e1 = exp_nonpos(d1);
        es0 += e0;
        es1 += e1;
        eds0 += e0 * d0;
        eds1 += e1 * d1;
      }
    } else {
      for (int64_t i = 0; i < vlen; i += LANES) {
        es0 += exp_nonpos(loadv(x + i) * inv_t - mf);
        es1 += exp_nonpos(loadv(x + i + VL) * inv_t - mf);
      }
    }
    double cs = 0.0, cds = 0.0;
    for (int j = 0; j < VL; ++j) {
      cs += static_cast<double>(es0[j]) + es1[j];
      cds += static_cast<double>(eds0[j]) + eds1[j];
    }
    for (int64_t i = vlen; i < len; ++i) {
      float d = load(x, i) * inv_t - mf;
      d = d < -100.0f ? -100.0f : d;
      float e = exp_nonpos(d);
      cs += e;
      cds += static_cast<double>(e) * d;
    }
    s += cs;
    sd += cds;
  }
  if (m == neg_inf) return {neg_inf, 0.0};  // every logit is -inf
  const double log_s = std::log(s);
  return {m + log_s, entropy ? log_s - sd / s : 0.0};
}

/**
 * grad[v] = coef * inv_t * (onehot(target)[v] - exp(x[v]*inv_t - lse)): the gradient of coef * log p(target) with
 * respect to the logits. grad may alias row (each element is read before it is written).
 */
template <typename T>
VLMR1_INLINE void row_grad_impl(const T* row, T* grad, int64_t vocab, float inv_t, double lse, double coef,
                                int64_t target) {
  if (coef == 0.0) {
    std::memset(static_cast<void*>(grad), 0, sizeof(T) * static_cast<size_t>(vocab));
    return;
  }
  // The target's entry (one-hot minus p) in double; read before the loop since grad may alias row.
  const double p_t = std::exp(static_cast<double>(load(row, target) * inv_t) - lse);
  const float lf = static_cast<float>(lse);
  const float scale = static_cast<float>(-coef * inv_t);
  const int64_t vlen = vocab - vocab % VL;
  for (int64_t i = 0; i < vlen; i += VL) storev(grad + i, scale * exp_nonpos(loadv(row + i) * inv_t - lf));
  for (int64_t i = vlen; i < vocab; ++i) store(grad, i, scale * exp_nonpos(load(row, i) * inv_t - lf));
  store(grad, target, static_cast<float>(coef * inv_t * (1.0 - p_t)));
}

// Defined in row_softmax.cpp with VLMR1_CLONES; the attribute stays off these declarations, since callers must
// bind to the ifunc symbol rather than emit a resolver of their own.
RowStats row_stats(const void* row, int dtype, int64_t vocab, float inv_t, bool entropy);
void row_grad(const void* row, void* grad, int dtype, int64_t vocab, float inv_t, double lse, double coef,
              int64_t target);

/** Element size of a dtype code, after checking it. */
size_t dtype_size(int dtype);

}  // namespace detail
}  // namespace vlmr1
