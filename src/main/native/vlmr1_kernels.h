// vlmr1 native kernels: the C++ side of org.vlmr1.kernels.GrpoNative (JavaCPP generates the JNI glue from that class).
// The preset jars ship no libtorch headers, so every kernel takes raw pointers plus explicit sizes. Errors are thrown as
// std::invalid_argument, which JavaCPP turns into a Java RuntimeException; nothing here prints, exits or aborts.
// Built by cppbuild.sh into cppbuild/<platform>/lib/libvlmr1kernels.a (g++ -O3 -fopenmp, per-function target clones).
#pragma once
#include <cstdint>

namespace vlmr1 {

/** Element type of a logits / gradient buffer. */
enum DType : int { DTYPE_F32 = 0, DTYPE_BF16 = 1, DTYPE_F64 = 2 };  // f64: lora_dropout_mask only

/** GRPO loss aggregation, TRL's loss_type (ANCHORS.md 1.2). */
enum LossType : int { LOSS_GRPO = 0, LOSS_BNPO = 1, LOSS_DR_GRPO = 2, LOSS_DAPO = 3 };

/** Reward scaling of the group advantages, TRL's scale_rewards. */
enum ScaleRewards : int { SCALE_GROUP = 0, SCALE_BATCH = 1, SCALE_NONE = 2 };

/** Number of floats per token in the scratch that grpo_loss_rows fills and grpo_loss_reduce reads. */
constexpr int GRPO_TOKEN_STATS = 4;

/** Which instruction set the dispatcher picked for the row kernels ("avx512", "avx2", "baseline"). */
const char* kernel_isa();

/** Threads an OpenMP parallel region of ours uses. */
int kernel_threads();


/**
 * Per-row log-softmax of logits/temperature at the target, and optionally the row entropy, in one streaming pass per
 * row (online max / sum-exp). logits: (rows, vocab) f32 or bf16; targets: (rows) in [0, vocab). out_logp: (rows) f32;
 * out_entropy: (rows) f32 or null. A target whose logit is -inf gets -inf.
 */
void token_logprobs(const void* logits, int dtype, const int64_t* targets, int64_t rows, int64_t vocab,
                    double temperature, float* out_logp, float* out_entropy);

/**
 * Group-normalised advantages of n = groups * group_size rewards (groups consecutive):
 * (r - mean_group) / (std + 1e-4), std unbiased (n-1) over the group (SCALE_GROUP) or over all n rewards (SCALE_BATCH);
 * SCALE_NONE only centres. A group of one gets advantage 0.
 */
void group_advantages(const float* rewards, int64_t n, int64_t group_size, int scale, float* out);

/**
 * GRPO loss forward + backward for the token rows [row_begin, row_begin + row_count) of a (B, T) completion batch.
 * logits / grad point at the first of those rows ((row_count, vocab), same dtype; grad may alias logits, or be null
 * for a forward-only pass). Every other per-token array spans the whole batch (B*T) and is indexed by global row.
 * mask: (B*T) f32 weights (0/1); adv: (B); old_logp, ref_logp: (B*T) or null (null old means the detached policy, so
 * the ratio is 1; beta > 0 requires ref_logp). Writes out_logp (B*T) and token_stats (B*T, GRPO_TOKEN_STATS):
 * [weighted loss term, k3 KL, entropy, clip code (1 low, 2 high, 0 none)]. dapo_token_count <= 0 means the local count.
 * Throws when an unmasked token has a non-finite log-prob.
 */
void grpo_loss_rows(const void* logits, int dtype, void* grad, int64_t row_begin, int64_t row_count, int64_t vocab,
                    int64_t batch, int64_t seq_len, const int64_t* targets, const float* mask, const float* adv,
                    const float* old_logp, const float* ref_logp, double epsilon_low, double epsilon_high, double beta,
                    double temperature, int loss_type, int64_t max_completion_length, double dapo_token_count,
                    double loss_scale, float* out_logp, float* token_stats);

/**
 * Sums the per-token scratch of grpo_loss_rows in a fixed order. out (6 doubles): loss, masked means of KL, entropy,
 * low clip, high clip and region clip (0 when no token is unmasked).
 */
void grpo_loss_reduce(int64_t tokens, const float* mask, const float* token_stats, double* out);

/**
 * The LM head of a decode step: out (rows, vocab) = hidden (rows, hidden_size) @ weight (vocab, hidden_size)^T, all
 * float32 and contiguous, reading the weight once (no packed copy). Each logit is a fixed-order dot product, the same
 * bits for any thread count.
 */
void lm_head_logits(const float* hidden, const float* weight, int64_t rows, int64_t vocab, int64_t hidden_size,
                    float* out);

/**
 * The LoRA adapters' keyed dropout mask (model/LoraDropout.java), bit for bit: for row r of rows x len token rows
 * and feature j < in, out[r * in + j] = 1 / (1 - p) if (splitmix64(row_keys[r / len] ^ (positions[r] * in + j))
 * >>> 11) * 2^-53 >= p, else 0, in wrapping 64-bit arithmetic. row_keys: (rows) the hash chain of (seed, step,
 * sample, module); positions: (rows * len) token indices (negative for pads); p in [0, 1); out: (rows * len * in) of
 * dtype f32, bf16 or f64, the scale rounded as libtorch's float op math rounds it.
 */
void lora_dropout_mask(const int64_t* row_keys, const int64_t* positions, int64_t rows, int64_t len, int64_t in,
                       double p, int dtype, void* out);

/**
 * Up to three projections of the same decode-step input in one parallel region: out_j (rows, n_j) = x (rows, in) @
 * w_j (n_j, in)^T (+ b_j (n_j) when not null) for each j whose w_j is not null, every array float32 and contiguous.
 * Work is split over the weight rows of all of them, so small projections (K/V) keep every thread busy. Each output is
 * a fixed-order dot product (the same as lm_head_logits'), the same bits for any thread count.
 */
void decode_projections(const float* x, int64_t rows, int64_t in, const float* w0, const float* b0, int64_t n0,
                        float* out0, const float* w1, const float* b1, int64_t n1, float* out1, const float* w2,
                        const float* b2, int64_t n2, float* out2);

/**
 * SwiGLU's gate and up projections fused with their product: out (rows, n) = silu(x @ w_gate^T) * (x @ w_up^T), with
 * x (rows, in), rows <= 64, w_gate and w_up (n, in), float32 and contiguous; silu(g) = g / (1 + exp(-g)) in float.
 */
void decode_swiglu(const float* x, int64_t rows, int64_t in, const float* w_gate, const float* w_up, int64_t n,
                   float* out);

/** Whether the pruned head's AMX layout (layout 1) runs here: AMX-BF16 and the kernel's permission to use it. */
bool lm_head_amx_available();

/** The bf16 elements of a packed head: vocab x hidden_size (layout 0, rows), or padded to 16 x 32 tiles (layout 1). */
int64_t lm_head_packed_elements(int64_t vocab, int64_t hidden_size, int layout);

/**
 * The pruned head's inputs from a float32 head weight (vocab, hidden_size): out (lm_head_packed_elements) its bf16
 * copy (round to nearest even), row-major (layout 0) or in AMX tiles (layout 1), and norms (vocab, 2) upper bounds of
 * each row's 2-norm and of its rounding residual's (w - bf16(w)).
 */
void lm_head_pack_bf16(const float* weight, int64_t vocab, int64_t hidden_size, uint16_t* out, double* norms,
                       int layout);

/**
 * The approximate logits of the pruned head from the bf16 copy: layout 0 widens the weights to float32 in the tiles
 * of lm_head_logits; layout 1 rounds the hidden rows to bf16 too and multiplies on AMX (TDPBF16PS).
 */
void lm_head_logits_bf16(const float* hidden, const uint16_t* weight, int64_t rows, int64_t vocab,
                         int64_t hidden_size, float* out, int layout);

/**
 * The pruned head's candidates (lm_head.cpp): for each hidden row (rows, hidden_size), every id whose approximate
 * logit (approx (rows, vocab), from lm_head_logits_bf16 with this layout, whose bound applies) plus its bound reaches
 * the k-th largest approximate logit minus its bound; exact_ids (n_exact) are ids whose approx value is exact (bound
 * 0, kept as is). ids (rows, cap): the candidates in id order, logits (rows, cap): their exact logits (lm_head_logits'
 * bits), then 0 / -inf up to cap; counts (rows). Returns the largest count (when it exceeds cap, the rows over cap are
 * incomplete: compute every logit instead), or -1 when a row's approx or exact candidate logits are not finite
 * (counts[r] = -1).
 */
int64_t lm_head_candidates(const float* hidden, int64_t rows, int64_t hidden_size, const float* weight,
                           const double* norms, int64_t vocab, const float* approx, const int64_t* exact_ids,
                           int64_t n_exact, int64_t k, int64_t cap, int64_t* ids, float* logits, int64_t* counts,
                           int layout);

/**
 * The top-k candidates of each row of float32 logits (rows, vocab), 0 < k < vocab, k <= cap <= vocab, TensorSampler's
 * rule: kth[r] is the k-th largest value counted with multiplicity; ids (rows, cap) holds first every id whose value is
 * >= kth[r], in id order (counts[r] of them: more than k when values tie with the k-th), then ids whose value is below
 * kth[r], in id order, up to cap. Returns the largest count (call again with that cap when it exceeds cap), or -1 when
 * a row holds a NaN (its count is -1; the caller falls back to libtorch's ordering of NaN).
 */
int64_t topk_candidates(const float* logits, int64_t rows, int64_t vocab, int64_t k, int64_t cap, int64_t* ids,
                        float* kth, int64_t* counts);

/**
 * Pillow's 8-bit bicubic resize (libImaging/Resample.c: separable, horizontal pass first when the width changes,
 * Keys a = -0.5 widened by the scale when downscaling, 22-bit fixed point, uint8 intermediate), bit for bit.
 * in: (in_h, in_w, 3) uint8; out: (out_h, out_w, 3) uint8. Same size copies.
 */
void pillow_resize_bicubic(const uint8_t* in, int64_t in_w, int64_t in_h, uint8_t* out, int64_t out_w,
                           int64_t out_h);

/**
 * Qwen2(.5)-VL patches of an already resized RGB image: float32(u8 / 255), (x - mean) / std per channel in float32,
 * repeated to 2 frames, rows in 2x2 merge-block order, 1176 columns (channel, frame, y, x). h and w are multiples of
 * 28. out: (h/14 * w/14, 1176) float32.
 */
void qwen_patchify(const uint8_t* rgb, int64_t h, int64_t w, const float* mean, const float* std, float* out);

/**
 * InternVL tiles of an image already resized to (cols * size, rows * size): crops the size x size tiles row-major and
 * writes each as torchvision's ToTensor + Normalize does, (float32(u8) / 255f - mean) / std in float32, channels
 * first. out: (rows * cols, 3, size, size) float32.
 */
void internvl_tiles(const uint8_t* rgb, int64_t cols, int64_t rows, int64_t size, const float* mean,
                    const float* std, float* out);

}  // namespace vlmr1
