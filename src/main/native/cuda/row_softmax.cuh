// Streaming per-row softmax on the GPU, shared by the token log-prob and GRPO loss kernels (internal header): the
// CUDA counterpart of src/main/native/row_softmax.h. One block of ROW_THREADS reads a (vocab) row of logits once:
// each thread keeps an online (max, sum-exp, sum-exp * shift) of its elements in float, 16-byte vector loads when the
// row is 16-byte aligned and a scalar tail; the per-thread states are then merged in double by a fixed tree (warp
// shuffles, then warp 0 over the warp results), so a row's log-sum-exp has the same bits on every run. (The element
// to thread split depends on whether the row is 16-byte aligned, so the bits are those of the same buffers: torch's
// allocators hand out 256-byte aligned storage, and a contiguous f32 row with vocab % 4 == 0 keeps that.)
// The values are not the CPU kernel's bits (its Cephes exp and 16-lane order differ); they agree to f32 rounding.
// Edge cases as on the CPU: a NaN anywhere gives NaN lse and entropy; a row of -inf gives lse -inf and entropy 0;
// terms below EXP_LO count 0, which also keeps 0 * (-inf) out of the entropy sum.
#pragma once
#include <math.h>

#include "vlmr1_cuda_common.cuh"

namespace vlmr1cuda {

/** Online softmax state of some elements of a row, relative to their running max m (of x * inv_t). */
struct ThreadState {
  float m;   // running max; -inf while every element seen is -inf
  float s;   // sum exp(v - m)
  float sd;  // sum exp(v - m) * (v - m), for the entropy
  bool nan;  // some v was NaN
};

/** Adds n scaled values v[0..n) to st: one rescale per group (when its max grows), then their exponentials. */
template <int N>
__device__ __forceinline__ void accumulate(ThreadState& st, const float (&v)[N]) {
  float cm = -INFINITY;
#pragma unroll
  for (int j = 0; j < N; ++j) {
    cm = v[j] > cm ? v[j] : cm;
    st.nan = st.nan || v[j] != v[j];
  }
  if (cm == -INFINITY) return;  // the whole group has probability 0 (or is NaN, flagged above)
  if (cm > st.m) {
    if (st.m != -INFINITY) {
      const float shift = __fsub_rn(st.m, cm);  // < 0
      const float f = expf(shift);
      st.sd = f * (st.sd + shift * st.s);
      st.s = f * st.s;
    }
    st.m = cm;
  }
#pragma unroll
  for (int j = 0; j < N; ++j) {
    const float d = __fsub_rn(v[j], st.m);
    if (d >= EXP_LO) {  // false for -inf and NaN
      const float e = expf(d);
      st.s += e;
      st.sd += e * d;
    }
  }
}

/** A thread state (or a merge of several) in double, for the cross-thread tree. */
struct RowState {
  double m, s, sd;
  int nan;
};

/** The merge of two states about their common max; a side whose max is -inf adds nothing (its sums are 0). */
__device__ __forceinline__ RowState merge(const RowState& a, const RowState& b) {
  RowState r;
  r.nan = a.nan | b.nan;
  r.m = a.m > b.m ? a.m : b.m;
  r.s = 0.0;
  r.sd = 0.0;
  if (r.m == -INFINITY) return r;
  if (a.m != -INFINITY) {
    const double shift = a.m - r.m, f = exp(shift);
    r.s += f * a.s;
    r.sd += f * (a.sd + shift * a.s);
  }
  if (b.m != -INFINITY) {
    const double shift = b.m - r.m, f = exp(shift);
    r.s += f * b.s;
    r.sd += f * (b.sd + shift * b.s);
  }
  return r;
}

__device__ __forceinline__ RowState shfl_down(const RowState& st, int off) {
  RowState o;
  o.m = __shfl_down_sync(0xFFFFFFFFu, st.m, off);
  o.s = __shfl_down_sync(0xFFFFFFFFu, st.s, off);
  o.sd = __shfl_down_sync(0xFFFFFFFFu, st.sd, off);
  o.nan = __shfl_down_sync(0xFFFFFFFFu, st.nan, off);
  return o;
}

/** Log-sum-exp and entropy of one row of x * inv_t. */
struct RowStats {
  double lse;
  double entropy;
};

/** Shared memory of row_stats: one state per warp, then the block's result. */
struct RowScratch {
  RowState warp[WARPS];
  RowStats result;
};

/**
 * Streaming log-sum-exp (and entropy H = log S - SD / S) of x * inv_t over row (vocab) of T; called by all
 * ROW_THREADS threads of a block, returns the same value to each. scaled values are __fmul_rn(x, inv_t), the CPU's
 * float product (no contraction with the subtraction that follows).
 */
template <typename T>
__device__ RowStats row_stats(const T* row, int64_t vocab, float inv_t, RowScratch& scratch) {
  constexpr int VEC = Elem<T>::VEC;
  ThreadState st{-INFINITY, 0.0f, 0.0f, false};
  int64_t scalar_from = 0;
  if (aligned16(row)) {
    const int64_t nvec = vocab / VEC;
    for (int64_t i = threadIdx.x; i < nvec; i += ROW_THREADS) {
      float v[VEC];
      Elem<T>::load_vec(row, i, v);
#pragma unroll
      for (int j = 0; j < VEC; ++j) v[j] = __fmul_rn(v[j], inv_t);
      accumulate(st, v);
    }
    scalar_from = nvec * VEC;
  }
  for (int64_t i = scalar_from + threadIdx.x; i < vocab; i += ROW_THREADS) {
    const float v[1] = {__fmul_rn(Elem<T>::load(row, i), inv_t)};
    accumulate(st, v);
  }

  RowState r{st.m, st.s, st.sd, st.nan ? 1 : 0};
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) r = merge(r, shfl_down(r, off));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // scratch may still be read from the previous row
  if (lane == 0) scratch.warp[warp] = r;
  __syncthreads();
  if (warp == 0) {
    r = lane < WARPS ? scratch.warp[lane] : RowState{-INFINITY, 0.0, 0.0, 0};
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) r = merge(r, shfl_down(r, off));
    if (lane == 0) {
      RowStats out;
      if (r.nan) {
        out.lse = out.entropy = NAN;
      } else if (r.m == -INFINITY) {
        out.lse = -INFINITY;  // every logit is -inf
        out.entropy = 0.0;
      } else {
        const double log_s = log(r.s);
        out.lse = r.m + log_s;
        out.entropy = log_s - r.sd / r.s;
      }
      scratch.result = out;
    }
  }
  __syncthreads();
  return scratch.result;
}

/** The log-prob of target from the row's lse: -inf for a -inf logit, as the CPU (xt - lse would be NaN there). */
template <typename T>
__device__ __forceinline__ float target_logp(const T* row, int64_t target, float inv_t, double lse) {
  const float xt = __fmul_rn(Elem<T>::load(row, target), inv_t);
  return xt == -INFINITY ? xt : static_cast<float>(__dsub_rn(static_cast<double>(xt), lse));
}

}  // namespace vlmr1cuda
