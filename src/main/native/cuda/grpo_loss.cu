// vlmr1_cuda_grpo_loss_rows / vlmr1_cuda_grpo_loss_reduce: the CUDA twins of grpo_loss.cpp, the GRPO clipped
// surrogate with the k3 KL (VLM-R1-SPEC.md 4.3 G and 4.4, normalisers of ANCHORS.md 1.2), forward and analytic
// backward. Per token: logp = log_softmax(x/T)[target]; ratio = exp(logp - old); l1 = ratio*A; l2 = clip(ratio, 1-el,
// 1+eh)*A; loss_t = -min(l1, l2) + beta * (exp(ref-logp) - (ref-logp) - 1), weighted by mask * normaliser * scale.
// One block per token row: one read pass for the max / sum-exp (row_softmax.cuh), then one read+write pass writing
// dL/dlogp * (onehot - softmax) / T into grad (which may be the logits). min/clip follow torch's autograd as the CPU
// does. The per-token scalar math runs in double with explicit _rn intrinsics: the CPU build does not contract a*b+c
// into an fma (ISO C++17), so neither may we, or the loss terms would round differently.
#include <math.h>

#include "row_softmax.cuh"

namespace vlmr1cuda {
namespace {

constexpr int TOKEN_STATS = 4;   // [weighted loss term, k3 KL, entropy, clip code], as vlmr1::GRPO_TOKEN_STATS
constexpr float CODE_BAD = 3.0f;  // clip code of a token the CPU kernel would throw on (see grpo_loss_rows below)

/** The per-call constants of the loss, passed by value to the kernel. */
struct LossParams {
  int64_t row_begin, row_count, vocab, batch, seq_len;
  double lo, hi, beta;  // lo = 1 - epsilon_low, hi = 1 + epsilon_high, in double as on the CPU
  float inv_t;
  int loss_type;
  int64_t max_completion_length;
  double dapo_token_count, loss_scale;
};

/** Fixed-order sum of mask[from, from + len) over the block (exact for 0/1 masks, as the CPU's sequential sum). */
__device__ double mask_sum(const float* mask, int64_t from, int64_t len, double* scratch) {
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < len; i += ROW_THREADS) s += mask[from + i];
  return block_sum(s, scratch);
}

/**
 * The token's normaliser (token_weights in grpo_loss.cpp) for sequence b: GRPO 1 / (B * max(seq mask, 1)), BNPO
 * 1 / max(total mask, 1), DR_GRPO 1 / (B * max_completion_length), DAPO 1 / max(count, 1) with count the given
 * dapo_token_count, or the local total when that is <= 0. Every block recomputes its sums instead of sharing a
 * scratch buffer: the ABI has none, and B*T mask floats are small beside a row of logits. Called by all threads.
 */
__device__ double normaliser(const LossParams& p, const float* mask, int64_t b, double* scratch) {
  const double nb = static_cast<double>(p.batch);
  switch (p.loss_type) {
    case 0: {
      const double seq = mask_sum(mask, b * p.seq_len, p.seq_len, scratch);
      return 1.0 / __dmul_rn(nb, seq > 1.0 ? seq : 1.0);
    }
    case 1: {
      const double total = mask_sum(mask, 0, p.batch * p.seq_len, scratch);
      return 1.0 / (total > 1.0 ? total : 1.0);
    }
    case 2: return 1.0 / __dmul_rn(nb, static_cast<double>(p.max_completion_length));
    default: {
      const double count = p.dapo_token_count > 0.0 ? p.dapo_token_count
                                                    : mask_sum(mask, 0, p.batch * p.seq_len, scratch);
      return 1.0 / (count > 1.0 ? count : 1.0);
    }
  }
}

/** What thread 0 hands the gradient pass of a row. */
struct GradPlan {
  double coef;      // dL/dlogp * weight; 0 writes a zero row
  float scale;      // float(-coef * inv_t), the CPU's factor of every softmax term
  float lse_f;      // float(lse)
  float target_g;   // float(coef * inv_t * (1 - p_target)), the target's entry
  int64_t target;
};

/**
 * Loss, stats and gradient coefficient of token g (thread 0 only). Mirrors grpo_loss_rows in grpo_loss.cpp branch for
 * branch; a token the CPU throws on (unmasked with a non-finite policy / old / ref log-prob, or any out-of-range
 * target) gets stats [0, 0, entropy, 3] and a zero gradient, and the reduce counts it.
 */
__device__ GradPlan token_loss(const LossParams& p, int64_t g, float logp, bool valid, const RowStats& st,
                               double norm, double p_target, const float* mask, const float* adv,
                               const float* old_logp, const float* ref_logp, float* stats) {
  GradPlan plan{0.0, 0.0f, 0.0f, 0.0f, -1};
  const double m = mask[g];
  stats[0] = stats[1] = 0.0f;
  stats[2] = static_cast<float>(st.entropy);
  stats[3] = 0.0f;
  if (!valid) {
    stats[3] = CODE_BAD;
    return plan;
  }
  if (m == 0.0) return plan;
  if (!isfinite(logp) || (old_logp && !isfinite(old_logp[g])) || (ref_logp && !isfinite(ref_logp[g]))) {
    stats[3] = CODE_BAD;
    return plan;
  }
  const double a = adv[g / p.seq_len];
  const double lp = logp;
  const double old = old_logp ? static_cast<double>(old_logp[g]) : lp;
  const double ratio = exp(__dsub_rn(lp, old));
  const double clipped = ratio < p.lo ? p.lo : (ratio > p.hi ? p.hi : ratio);
  const double l1 = __dmul_rn(ratio, a), l2 = __dmul_rn(clipped, a);
  double loss = -(l1 < l2 ? l1 : l2);
  double dlogp = (l1 < l2 || (ratio >= p.lo && ratio <= p.hi)) ? __dmul_rn(-a, ratio) : 0.0;
  double kl = 0.0;
  if (p.beta != 0.0) {
    const double delta = __dsub_rn(static_cast<double>(ref_logp[g]), lp);
    const double ed = exp(delta);
    kl = __dsub_rn(__dsub_rn(ed, delta), 1.0);
    loss = __dadd_rn(loss, __dmul_rn(p.beta, kl));
    dlogp = __dadd_rn(dlogp, __dmul_rn(p.beta, __dsub_rn(1.0, ed)));
  }
  const double wg = __dmul_rn(__dmul_rn(m, norm), p.loss_scale);
  stats[0] = static_cast<float>(__dmul_rn(wg, loss));
  stats[1] = static_cast<float>(kl);
  stats[3] = (ratio < p.lo && a < 0.0) ? 1.0f : ((ratio > p.hi && a > 0.0) ? 2.0f : 0.0f);
  plan.coef = __dmul_rn(wg, dlogp);
  const double ci = __dmul_rn(plan.coef, static_cast<double>(p.inv_t));
  plan.scale = static_cast<float>(-ci);
  plan.lse_f = static_cast<float>(st.lse);
  plan.target_g = static_cast<float>(__dmul_rn(ci, __dsub_rn(1.0, p_target)));
  return plan;
}

/** scale * exp(x * inv_t - lse) in float as the CPU's row_grad: the exponent clamped to <= 0, 0 below EXP_LO. */
__device__ __forceinline__ float grad_term(float x, float inv_t, const GradPlan& plan) {
  float d = __fsub_rn(__fmul_rn(x, inv_t), plan.lse_f);
  d = d > 0.0f ? 0.0f : d;
  return __fmul_rn(plan.scale, d < EXP_LO ? 0.0f : expf(d));
}

/**
 * grad (vocab) = the plan's row of dL/dx; all threads. Each element is read and written by the same thread, so grad
 * may alias row. Vector path only when both pointers are 16-byte aligned.
 */
template <typename T>
__device__ void write_grad(const T* row, T* grad, int64_t vocab, float inv_t, const GradPlan& plan) {
  constexpr int VEC = Elem<T>::VEC;
  int64_t scalar_from = 0;
  if (aligned16(row) && aligned16(grad)) {
    const int64_t nvec = vocab / VEC;
    for (int64_t i = threadIdx.x; i < nvec; i += ROW_THREADS) {
      float v[VEC];
      if (plan.coef == 0.0) {
#pragma unroll
        for (int j = 0; j < VEC; ++j) v[j] = 0.0f;
      } else {
        Elem<T>::load_vec(row, i, v);
#pragma unroll
        for (int j = 0; j < VEC; ++j)
          v[j] = (i * VEC + j == plan.target) ? plan.target_g : grad_term(v[j], inv_t, plan);
      }
      Elem<T>::store_vec(grad, i, v);
    }
    scalar_from = nvec * VEC;
  }
  for (int64_t i = scalar_from + threadIdx.x; i < vocab; i += ROW_THREADS) {
    float v = 0.0f;
    if (plan.coef != 0.0) v = i == plan.target ? plan.target_g : grad_term(Elem<T>::load(row, i), inv_t, plan);
    Elem<T>::store(grad, i, v);
  }
}

// logits, grad: (row_count, vocab) of T, grad may alias logits or be null; targets, mask, old_logp, ref_logp,
// out_logp: (batch * seq_len); adv: (batch); token_stats: (batch * seq_len, TOKEN_STATS).
template <typename T>
__global__ void __launch_bounds__(ROW_THREADS)
    grpo_rows_kernel(LossParams p, const T* logits, T* grad, const int64_t* targets, const float* mask,
                     const float* adv, const float* old_logp, const float* ref_logp, float* out_logp,
                     float* token_stats) {
  __shared__ RowScratch scratch;
  __shared__ double sums[WARPS];
  __shared__ GradPlan plan;
  for (int64_t k = blockIdx.x; k < p.row_count; k += gridDim.x) {
    const int64_t g = p.row_begin + k;
    const T* row = logits + k * p.vocab;
    const RowStats st = row_stats(row, p.vocab, p.inv_t, scratch);
    // Uniform over the block (every thread reads the same mask entry), so the block sums inside stay collective.
    const bool unmasked = mask[g] != 0.0f;
    const double norm = unmasked ? normaliser(p, mask, g / p.seq_len, sums) : 0.0;
    if (threadIdx.x == 0) {
      const int64_t t = targets[g];
      const bool valid = t >= 0 && t < p.vocab;
      float logp = NAN;
      double p_target = 0.0;
      if (valid) {
        logp = target_logp(row, t, p.inv_t, st.lse);
        // Read before the gradient pass overwrites the row when grad aliases logits.
        p_target = exp(__dsub_rn(static_cast<double>(__fmul_rn(Elem<T>::load(row, t), p.inv_t)), st.lse));
      }
      out_logp[g] = logp;
      plan = token_loss(p, g, logp, valid, st, norm, p_target, mask, adv, old_logp, ref_logp,
                        token_stats + g * TOKEN_STATS);
      plan.target = t;
    }
    __syncthreads();
    const GradPlan row_plan = plan;  // registers, not shared memory, in the hot loop
    if (grad) write_grad(row, grad + k * p.vocab, p.vocab, p.inv_t, row_plan);
    __syncthreads();  // plan is rewritten for the next row
  }
}

// mask: (tokens); token_stats: (tokens, TOKEN_STATS); out: 7 doubles. One block; each thread sums a fixed stride of
// tokens, then block_sum folds the threads in a fixed tree.
__global__ void __launch_bounds__(ROW_THREADS)
    grpo_reduce_kernel(int64_t tokens, const float* mask, const float* token_stats, double* out) {
  __shared__ double scratch[WARPS];
  double loss = 0.0, kl = 0.0, ent = 0.0, low = 0.0, high = 0.0, msum = 0.0, bad = 0.0;
  for (int64_t i = threadIdx.x; i < tokens; i += ROW_THREADS) {
    const float* s = token_stats + i * TOKEN_STATS;
    const double m = mask[i];
    loss = __dadd_rn(loss, static_cast<double>(s[0]));
    bad += s[3] == CODE_BAD ? 1.0 : 0.0;
    if (m == 0.0) continue;
    msum = __dadd_rn(msum, m);
    kl = __dadd_rn(kl, __dmul_rn(m, static_cast<double>(s[1])));
    ent = __dadd_rn(ent, __dmul_rn(m, static_cast<double>(s[2])));
    low = __dadd_rn(low, s[3] == 1.0f ? m : 0.0);
    high = __dadd_rn(high, s[3] == 2.0f ? m : 0.0);
  }
  loss = block_sum(loss, scratch);
  kl = block_sum(kl, scratch);
  ent = block_sum(ent, scratch);
  low = block_sum(low, scratch);
  high = block_sum(high, scratch);
  msum = block_sum(msum, scratch);
  bad = block_sum(bad, scratch);
  if (threadIdx.x == 0) {
    const double d = msum > 0.0 ? msum : 1.0;
    out[0] = loss;
    out[1] = kl / d;
    out[2] = ent / d;
    out[3] = low / d;
    out[4] = high / d;
    out[5] = __dadd_rn(low, high) / d;
    out[6] = bad;
  }
}

}  // namespace
}  // namespace vlmr1cuda

using namespace vlmr1cuda;

// Unlike the CPU kernel this cannot throw on a non-finite log-prob (the values live on the device): such tokens get
// clip code 3 in token_stats, and vlmr1_cuda_grpo_loss_reduce counts them in its 7th output.
extern "C" int vlmr1_cuda_grpo_loss_rows(const void* logits, int dtype, void* grad, int64_t row_begin,
                                         int64_t row_count, int64_t vocab, int64_t batch, int64_t seq_len,
                                         const int64_t* targets, const float* mask, const float* adv,
                                         const float* old_logp, const float* ref_logp, double epsilon_low,
                                         double epsilon_high, double beta, double temperature, int loss_type,
                                         int64_t max_completion_length, double dapo_token_count, double loss_scale,
                                         float* out_logp, float* token_stats, void* stream) {
  if (dtype != 0 && dtype != 1)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "grpo_loss: unknown dtype code %d (0 = f32, 1 = bf16)", dtype);
  if (batch < 0 || seq_len < 0 || vocab <= 0 || row_begin < 0 || row_count < 0 ||
      row_begin + row_count > batch * seq_len)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "grpo_loss: rows [%lld, %lld) of vocab %lld do not fit a batch of %lld tokens",
                static_cast<long long>(row_begin), static_cast<long long>(row_begin + row_count),
                static_cast<long long>(vocab), static_cast<long long>(batch * seq_len));
  if (!(temperature > 0.0))
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "grpo_loss: temperature must be > 0, got %g", temperature);
  if (loss_type < 0 || loss_type > 3)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "grpo_loss: unknown loss type code %d (0 GRPO, 1 BNPO, 2 DR_GRPO, 3 DAPO)",
                loss_type);
  if (beta != 0.0 && ref_logp == nullptr)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "grpo_loss: beta > 0 needs reference log-probs (pass them, or set beta = 0)");
  if (loss_type == 2 && max_completion_length <= 0)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "grpo_loss: DR_GRPO needs max_completion_length > 0");
  if (row_count == 0) return VLMR1_CUDA_OK;
  if (!logits || !targets || !mask || !adv || !out_logp || !token_stats)
    return fail(VLMR1_CUDA_BAD_ARGUMENT,
                "grpo_loss: logits, targets, mask, adv, out_logp and token_stats must not be null");
  const DeviceOf on_device(logits);  // launch on the device that holds the data
  LossParams p;
  p.row_begin = row_begin;
  p.row_count = row_count;
  p.vocab = vocab;
  p.batch = batch;
  p.seq_len = seq_len;
  p.lo = 1.0 - epsilon_low;
  p.hi = 1.0 + epsilon_high;
  p.beta = beta;
  p.inv_t = static_cast<float>(1.0 / temperature);
  p.loss_type = loss_type;
  p.max_completion_length = max_completion_length;
  p.dapo_token_count = dapo_token_count;
  p.loss_scale = loss_scale;
  const unsigned grid = row_blocks(row_count);
  if (dtype == 1)
    VLMR1_LAUNCH(grpo_rows_kernel<uint16_t>, grid, ROW_THREADS, 0, as_stream(stream))(
        p, static_cast<const uint16_t*>(logits), static_cast<uint16_t*>(grad), targets, mask, adv, old_logp, ref_logp,
        out_logp, token_stats);
  else
    VLMR1_LAUNCH(grpo_rows_kernel<float>, grid, ROW_THREADS, 0, as_stream(stream))(
        p, static_cast<const float*>(logits), static_cast<float*>(grad), targets, mask, adv, old_logp, ref_logp,
        out_logp, token_stats);
  return launched("grpo_loss_rows");
}

extern "C" int vlmr1_cuda_grpo_loss_reduce(int64_t tokens, const float* mask, const float* token_stats, double* out,
                                           void* stream) {
  if (tokens < 0) return fail(VLMR1_CUDA_BAD_ARGUMENT, "grpo_loss_reduce: bad token count %lld",
                              static_cast<long long>(tokens));
  if (!out || (tokens > 0 && (!mask || !token_stats)))
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "grpo_loss_reduce: mask, token_stats and out must not be null");
  const DeviceOf on_device(out);  // launch on the device that holds the data
  // Launched even for 0 tokens: the outputs are then the CPU's zeros.
  VLMR1_LAUNCH(grpo_reduce_kernel, 1, ROW_THREADS, 0, as_stream(stream))(tokens, mask, token_stats, out);
  return launched("grpo_loss_reduce");
}
