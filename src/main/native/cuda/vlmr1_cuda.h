// vlmr1 CUDA kernels: the CUDA twins of src/main/native/vlmr1_kernels.h, one C ABI for both of their callers (the
// JavaCPP peer org.vlmr1.kernels.CudaNative and the GPU check harness in src/test/cuda, which loads the shared library
// with ctypes). Same math and edge cases as the CPU kernels; every array argument is a device pointer, every size and
// hyper-parameter a host value; each call enqueues on `stream` (a cudaStream_t; null is the legacy default stream)
// and returns without synchronising. Nothing here throws across the ABI, prints, exits or aborts: each function
// returns 0 on success or a nonzero code, and vlmr1_cuda_last_error() gives that thread's message for the last
// failure. Reductions run in a fixed order, so results are bit-identical run to run.
// Built by `cppbuild.sh -extension=-gpu` with nvcc (sm_80 and sm_90 code plus PTX).
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. */
enum {
  VLMR1_CUDA_OK = 0,
  VLMR1_CUDA_BAD_ARGUMENT = 1, /* a size, dtype, enum or null pointer the kernel cannot take */
  VLMR1_CUDA_LAUNCH_FAILED = 2 /* the CUDA runtime refused the launch (cudaGetLastError) */
};

/** The message of this thread's last failure ("" if none). Owned by the library; valid until the next call. */
const char* vlmr1_cuda_last_error(void);

/** The library's version string and the CUDA runtime it was built against, e.g. "vlmr1-cuda 1 (CUDA 13.0)". */
const char* vlmr1_cuda_version(void);

/**
 * Twin of vlmr1::token_logprobs. logits: (rows, vocab) f32 (dtype 0) or bf16 (dtype 1); targets: (rows) int64 in
 * [0, vocab); out_logp: (rows) f32; out_entropy: (rows) f32 or null. One block per row, streaming log-sum-exp.
 */
int vlmr1_cuda_token_logprobs(const void* logits, int dtype, const int64_t* targets, int64_t rows, int64_t vocab,
                              double temperature, float* out_logp, float* out_entropy, void* stream);

/** Twin of vlmr1::group_advantages (scale: 0 group, 1 batch, 2 none). rewards, out: (n) f32. */
int vlmr1_cuda_group_advantages(const float* rewards, int64_t n, int64_t group_size, int scale, float* out,
                                void* stream);

/**
 * Twin of vlmr1::grpo_loss_rows: forward + analytic backward of the GRPO loss for token rows
 * [row_begin, row_begin + row_count) (loss_type: 0 GRPO, 1 BNPO, 2 DR_GRPO, 3 DAPO). logits / grad: (row_count,
 * vocab) of dtype, grad may alias logits or be null. targets, mask, old_logp, ref_logp, out_logp: (batch * seq_len);
 * adv: (batch); token_stats: (batch * seq_len, 4) f32 as on the CPU. It is also the chunk kernel under the fused
 * linear + loss (the matmuls stay cuBLAS). Unlike the CPU kernel it cannot throw on an out-of-range target (any
 * token, masked or not) or an unmasked non-finite log-prob: such a token gets clip code 3, stats [0, 0, entropy, 3]
 * and a zero gradient row, and the reduce below counts those tokens.
 */
int vlmr1_cuda_grpo_loss_rows(const void* logits, int dtype, void* grad, int64_t row_begin, int64_t row_count,
                              int64_t vocab, int64_t batch, int64_t seq_len, const int64_t* targets, const float* mask,
                              const float* adv, const float* old_logp, const float* ref_logp, double epsilon_low,
                              double epsilon_high, double beta, double temperature, int loss_type,
                              int64_t max_completion_length, double dapo_token_count, double loss_scale,
                              float* out_logp, float* token_stats, void* stream);

/**
 * Twin of vlmr1::grpo_loss_reduce, summing in a fixed order. out: 7 doubles in device memory: loss, masked means of
 * KL, entropy, low clip, high clip, region clip, then the count of tokens with clip code 3 (the caller raises the
 * CPU kernel's error when it is nonzero).
 */
int vlmr1_cuda_grpo_loss_reduce(int64_t tokens, const float* mask, const float* token_stats, double* out,
                                void* stream);

/**
 * The inverse-CDF draw of org.vlmr1.model.TensorSampler, after its top-k / top-p filtering: w (rows, k) double
 * weights (0 for dropped ids), u (rows) double uniforms in [0, 1). Each row's cdf is a sequential left-to-right sum in
 * double (no parallel scan); out_pos (rows) int64 is the count of cdf entries <= u * W, or, when that is k, the last
 * index with w > 0 (0 when none is).
 */
int vlmr1_cuda_sample_draw(const double* w, const double* u, int64_t rows, int64_t k, int64_t* out_pos, void* stream);

/**
 * The top-p (nucleus) step of org.vlmr1.model.TensorSampler, before its draw: w (rows, k) double weights in id order;
 * desc and order (rows, k): each row's weights sorted descending with ties larger id first, and their ids (a
 * permutation of 0..k-1; an id outside it is skipped, never written). W is the sequential sum of the row of w; entry
 * j of the sorted order keeps its weight in out (rows, k) when the sequential sum of desc[i] / W over i < j is below
 * top_p in (0, 1], else gets 0. out may be w.
 */
int vlmr1_cuda_top_p_filter(const double* w, const double* desc, const int64_t* order, int64_t rows, int64_t k,
                            double top_p, double* out, void* stream);

/** Twin of vlmr1::qwen_patchify. rgb: (h, w, 3) uint8; mean, std: 3 f32; out: (h/14 * w/14, 1176) f32. */
int vlmr1_cuda_qwen_patchify(const uint8_t* rgb, int64_t h, int64_t w, const float* mean, const float* std,
                             float* out, void* stream);

/** Twin of vlmr1::internvl_tiles. rgb: (rows * size, cols * size, 3) uint8; out: (rows * cols, 3, size, size) f32. */
int vlmr1_cuda_internvl_tiles(const uint8_t* rgb, int64_t cols, int64_t rows, int64_t size, const float* mean,
                              const float* std, float* out, void* stream);

#ifdef __cplusplus
}
#endif
