// group_advantages: GRPO's group-normalised advantages (VLM-R1-SPEC.md 4.3 F, TRL's scale_rewards).
// A = (r - mean_group) / (std + 1e-4) with the unbiased (n-1) std of the group (GROUP) or of all rewards given
// (BATCH: the trainer passes the rewards gathered from every process); NONE only centres (Dr. GRPO).
// Sums run in double in index order, so the result does not depend on threads. A group of one has advantage 0.
#include <cmath>
#include <stdexcept>
#include <string>

#include "vlmr1_kernels.h"

namespace vlmr1 {

static double unbiased_std(const float* r, int64_t n, double mean) {
  if (n < 2) return 0.0;
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += (r[i] - mean) * (r[i] - mean);
  return std::sqrt(ss / static_cast<double>(n - 1));
}

static double mean_of(const float* r, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += r[i];
  return s / static_cast<double>(n);
}

void group_advantages(const float* rewards, int64_t n, int64_t group_size, int scale, float* out) {
  if (group_size < 1) throw std::invalid_argument("group_advantages: group size must be >= 1");
  if (n % group_size != 0)
    throw std::invalid_argument("group_advantages: " + std::to_string(n) + " rewards do not split into groups of " +
                                std::to_string(group_size));
  if (scale != SCALE_GROUP && scale != SCALE_BATCH && scale != SCALE_NONE)
    throw std::invalid_argument("group_advantages: unknown scale code " + std::to_string(scale));
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(rewards[i]))
      throw std::invalid_argument("group_advantages: reward " + std::to_string(i) + " is not finite");
  const double batch_std = scale == SCALE_BATCH ? unbiased_std(rewards, n, n ? mean_of(rewards, n) : 0.0) : 0.0;
  for (int64_t g = 0; g < n; g += group_size) {
    const float* r = rewards + g;
    if (group_size == 1) {
      out[g] = 0.0f;
      continue;
    }
    const double mean = mean_of(r, group_size);
    const double denom = scale == SCALE_GROUP  ? unbiased_std(r, group_size, mean) + 1e-4
                         : scale == SCALE_BATCH ? batch_std + 1e-4
                                                : 1.0;
    for (int64_t i = 0; i < group_size; ++i) out[g + i] = static_cast<float>((r[i] - mean) / denom);
  }
}

}  // namespace vlmr1
