// grpo_loss_rows / grpo_loss_reduce: the GRPO clipped-surrogate loss with the k3 KL (VLM-R1-SPEC.md 4.3 G and 4.4,
// normalisers of ANCHORS.md 1.2), forward and backward in one pass over the logits.
// Per token: logp = log_softmax(x/T)[target]; ratio = exp(logp - old); l1 = ratio*A; l2 = clip(ratio, 1-el, 1+eh)*A;
// loss_t = -min(l1, l2) + beta * (exp(ref-logp) - (ref-logp) - 1), weighted by mask * normaliser * loss_scale.
// The gradient with respect to the logits is analytic, dL/dlogp * (onehot - softmax) / T, so it is written straight
// into a buffer (which may be the logits themselves) instead of building an autograd graph over B x T x V.
// min/clip follow torch's autograd: where l1 == l2 each side gets half, so inside the clip range (bounds included)
// the full -A*ratio flows, and outside it only when the unclipped side is the smaller.
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "row_softmax.h"

namespace vlmr1 {

namespace {

/** Per-row loss weights (mask * normaliser * loss_scale) for every token of the (B, T) batch. */
std::vector<double> token_weights(const float* mask, int64_t batch, int64_t seq_len, int loss_type,
                                  int64_t max_completion_length, double dapo_token_count, double loss_scale) {
  const int64_t n = batch * seq_len;
  std::vector<double> w(static_cast<size_t>(n));
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) total += mask[i];
  for (int64_t b = 0; b < batch; ++b) {
    double norm;
    switch (loss_type) {
      case LOSS_GRPO: {
        double seq = 0.0;
        for (int64_t t = 0; t < seq_len; ++t) seq += mask[b * seq_len + t];
        norm = 1.0 / (static_cast<double>(batch) * (seq > 1.0 ? seq : 1.0));
        break;
      }
      case LOSS_BNPO: norm = 1.0 / (total > 1.0 ? total : 1.0); break;
      case LOSS_DR_GRPO: norm = 1.0 / (static_cast<double>(batch) * static_cast<double>(max_completion_length)); break;
      case LOSS_DAPO: {
        const double count = dapo_token_count > 0.0 ? dapo_token_count : total;
        norm = 1.0 / (count > 1.0 ? count : 1.0);
        break;
      }
      default: throw std::invalid_argument("grpo_loss: unknown loss type code " + std::to_string(loss_type));
    }
    for (int64_t t = 0; t < seq_len; ++t) w[b * seq_len + t] = mask[b * seq_len + t] * norm * loss_scale;
  }
  return w;
}

}  // namespace

void grpo_loss_rows(const void* logits, int dtype, void* grad, int64_t row_begin, int64_t row_count, int64_t vocab,
                    int64_t batch, int64_t seq_len, const int64_t* targets, const float* mask, const float* adv,
                    const float* old_logp, const float* ref_logp, double epsilon_low, double epsilon_high, double beta,
                    double temperature, int loss_type, int64_t max_completion_length, double dapo_token_count,
                    double loss_scale, float* out_logp, float* token_stats) {
  const size_t esize = detail::dtype_size(dtype);
  const int64_t n = batch * seq_len;
  if (batch < 0 || seq_len < 0 || vocab <= 0 || row_begin < 0 || row_count < 0 || row_begin + row_count > n)
    throw std::invalid_argument("grpo_loss: rows [" + std::to_string(row_begin) + ", " +
                                std::to_string(row_begin + row_count) + ") do not fit a batch of " + std::to_string(n) +
                                " tokens");
  if (!(temperature > 0.0)) throw std::invalid_argument("grpo_loss: temperature must be > 0");
  if (beta != 0.0 && ref_logp == nullptr)
    throw std::invalid_argument("grpo_loss: beta > 0 needs reference log-probs (pass them, or set beta = 0)");
  if (loss_type == LOSS_DR_GRPO && max_completion_length <= 0)
    throw std::invalid_argument("grpo_loss: DR_GRPO needs max_completion_length > 0");
  for (int64_t r = row_begin; r < row_begin + row_count; ++r)
    if (targets[r] < 0 || targets[r] >= vocab)
      throw std::invalid_argument("grpo_loss: completion id " + std::to_string(targets[r]) + " at token " +
                                  std::to_string(r) + " is out of range [0, " + std::to_string(vocab) + ")");
  const std::vector<double> w =
      token_weights(mask, batch, seq_len, loss_type, max_completion_length, dapo_token_count, loss_scale);
  const float inv_t = static_cast<float>(1.0 / temperature);
  const double lo = 1.0 - epsilon_low, hi = 1.0 + epsilon_high;
  const char* base = static_cast<const char*>(logits);
  char* gbase = static_cast<char*>(grad);
  std::atomic<int64_t> bad_row{-1};  // no exceptions may leave an OpenMP region: report after it

#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < row_count; ++k) {
    const int64_t g = row_begin + k;
    const size_t off = static_cast<size_t>(k) * static_cast<size_t>(vocab) * esize;
    const void* row = base + off;
    const detail::RowStats st = detail::row_stats(row, dtype, vocab, inv_t, true);
    const float xt = (dtype == DTYPE_BF16 ? detail::load(static_cast<const uint16_t*>(row), targets[g])
                                          : detail::load(static_cast<const float*>(row), targets[g])) *
                     inv_t;
    const float logp = xt == -std::numeric_limits<float>::infinity() ? xt : static_cast<float>(xt - st.lse);
    out_logp[g] = logp;
    float* stats = token_stats + static_cast<size_t>(g) * GRPO_TOKEN_STATS;
    const double m = mask[g];
    if (m == 0.0) {
      stats[0] = stats[1] = 0.0f;
      stats[2] = static_cast<float>(st.entropy);
      stats[3] = 0.0f;
      if (grad) detail::row_grad(row, gbase + off, dtype, vocab, inv_t, st.lse, 0.0, targets[g]);
      continue;
    }
    if (!std::isfinite(logp) || (old_logp && !std::isfinite(old_logp[g])) || (ref_logp && !std::isfinite(ref_logp[g]))) {
      int64_t expected = -1;
      bad_row.compare_exchange_strong(expected, g);
      continue;
    }
    const double a = adv[g / seq_len];
    const double old = old_logp ? old_logp[g] : logp;
    const double ratio = std::exp(static_cast<double>(logp) - old);
    const double clipped = ratio < lo ? lo : (ratio > hi ? hi : ratio);
    const double l1 = ratio * a, l2 = clipped * a;
    double loss = -(l1 < l2 ? l1 : l2);
    double dlogp = (l1 < l2 || (ratio >= lo && ratio <= hi)) ? -a * ratio : 0.0;
    double kl = 0.0;
    if (beta != 0.0) {
      const double delta = static_cast<double>(ref_logp[g]) - logp;
      const double ed = std::exp(delta);
      kl = ed - delta - 1.0;
      loss += beta * kl;
      dlogp += beta * (1.0 - ed);
    }
    const double wg = w[static_cast<size_t>(g)];
    stats[0] = static_cast<float>(wg * loss);
    stats[1] = static_cast<float>(kl);
    stats[2] = static_cast<float>(st.entropy);
    stats[3] = (ratio < lo && a < 0.0) ? 1.0f : ((ratio > hi && a > 0.0) ? 2.0f : 0.0f);
    if (grad) detail::row_grad(row, gbase + off, dtype, vocab, inv_t, st.lse, wg * dlogp, targets[g]);
  }

  const int64_t bad = bad_row.load();
  if (bad >= 0)
    throw std::invalid_argument(
        "grpo_loss: non-finite log-prob at unmasked token " + std::to_string(bad) + " (sequence " +
        std::to_string(bad / seq_len) + ", position " + std::to_string(bad % seq_len) + ", id " +
        std::to_string(targets[bad]) + "; policy " + std::to_string(out_logp[bad]) +
        (old_logp ? ", old " + std::to_string(old_logp[bad]) : std::string()) +
        (ref_logp ? ", ref " + std::to_string(ref_logp[bad]) : std::string()) + ")");
}

void grpo_loss_reduce(int64_t tokens, const float* mask, const float* token_stats, double* out) {
  double loss = 0.0, kl = 0.0, ent = 0.0, low = 0.0, high = 0.0, msum = 0.0;
  for (int64_t i = 0; i < tokens; ++i) {
    const float* s = token_stats + static_cast<size_t>(i) * GRPO_TOKEN_STATS;
    const double m = mask[i];
    loss += s[0];
    if (m == 0.0) continue;
    msum += m;
    kl += m * s[1];
    ent += m * s[2];
    low += s[3] == 1.0f ? m : 0.0;
    high += s[3] == 2.0f ? m : 0.0;
  }
  const double d = msum > 0.0 ? msum : 1.0;
  out[0] = loss;
  out[1] = kl / d;
  out[2] = ent / d;
  out[3] = low / d;
  out[4] = high / d;
  out[5] = (low + high) / d;
}

}  // namespace vlmr1
