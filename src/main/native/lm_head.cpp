// lm_head_logits: the decode step's LM head, logits (B, V) = hidden (B, H) @ weight (V, H)^T, streaming the weight
// once per call. libtorch's CPU matmul (OpenBLAS) re-packs the whole (V, H) weight into its panel layout at every
// call (sgemm_incopy was 10% of a GRPO step's CPU at V = 151,936, issue 18); here each tile of
// weight rows is read from memory once and reused, from L1, against every hidden row.
// Forward only (decode needs no gradient). OpenMP over blocks of 252 vocabulary rows, scheduled dynamically so that
// on a shared machine a descheduled thread's blocks go to the others; each logit is one thread's dot product in a
// fixed order (16 lanes on AVX-512 CPUs, else 8; then the lanes pairwise; then the scalar tail), so results do not
// depend on the thread count. The AVX2/AVX-512 code fuses multiply-adds (fp-contract below), the baseline clone
// cannot: bits may differ between CPU classes, never between runs.
#pragma GCC optimize("fp-contract=fast")

#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "row_dot.h"

namespace vlmr1 {
namespace {

constexpr int64_t BLOCK_V = 252;  // weight rows per OpenMP work item: whole 4- and 6-row tiles

/** out (rows, vocab) = hidden @ weight^T over OpenMP work items of BLOCK_V weight rows (float32 or bf16 weights). */
template <class W>
void head_blocks(const float* hidden, const W* weight, int64_t rows, int64_t vocab, int64_t hidden_size, float* out) {
  const int64_t blocks = (vocab + BLOCK_V - 1) / BLOCK_V;
#pragma omp parallel for schedule(dynamic)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t v0 = blk * BLOCK_V;
    const int64_t v1 = v0 + BLOCK_V < vocab ? v0 + BLOCK_V : vocab;
    detail::dots(hidden, weight, rows, v0, v1, vocab, hidden_size, out);
  }
}

}  // namespace

void lm_head_logits(const float* hidden, const float* weight, int64_t rows, int64_t vocab, int64_t hidden_size,
                    float* out) {
  if (rows < 0 || vocab <= 0 || hidden_size <= 0)
    throw std::invalid_argument("lm_head_logits: bad shape rows=" + std::to_string(rows) + " vocab=" +
                                std::to_string(vocab) + " hidden=" + std::to_string(hidden_size));
  if (rows == 0) return;
  head_blocks(hidden, weight, rows, vocab, hidden_size, out);
}

}  // namespace vlmr1

// ------------------------------------------------------------------------------------------------ the pruned head
// Sampling with top-k (greedy is top-1) needs the exact logits of the k largest ids only. A decode step first reads
// a bf16 copy of the head (half the bytes) for approximate logits a with a proven bound |a - e| <= beta on the
// distance to the exact logits e that lm_head_logits computes; every id whose upper bound a + beta reaches the k-th
// largest lower bound a - beta is a candidate, and only the candidates get their exact logit, by the same
// fixed-order dot product as lm_head_logits (the same bits). Every id of the exact top-k, ties with the k-th
// included, is a candidate: at least k ids have e >= a - beta >= L, so the k-th largest e is >= L, and an id with
// a + beta < L has e < L.

namespace vlmr1 {
namespace {

/** This thread's buffer of at least n doubles, kept between calls (a row's lower bounds: 1.2 MB at V = 151,936). */
std::vector<double>& scratch(int64_t n) {
  thread_local std::vector<double> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(n);
  return buf;
}

using detail::vf;
using detail::vi;

/** This thread's id buffer, kept between calls. */
std::vector<int64_t>& near_ids() {
  thread_local std::vector<int64_t> buf;
  return buf;
}

/**
 * Appends to out every v in [0, n) with a[v] >= t, ascending, and returns whether every a[v] is finite (x - x is 0
 * for a finite x and NaN otherwise, and a NaN survives the sum). One pass: nearly every block of 16 has no hit, so
 * the loop tests 16 at a time with vector compares and looks at single values only in a block with a hit.
 */
VLMR1_CLONES bool collect_ge(const float* a, int64_t n, float t, std::vector<int64_t>& out) {
  typedef uint64_t vq __attribute__((vector_size(32)));
  const vf tv = detail::splat(t);
  vf acc = {};
  int64_t v = 0;
  for (; v + 2 * detail::VL <= n; v += 2 * detail::VL) {
    const vf x0 = detail::loadv(a + v);
    const vf x1 = detail::loadv(a + v + detail::VL);
    acc += (x0 - x0) + (x1 - x1);
    const vq q = reinterpret_cast<vq>((x0 >= tv) | (x1 >= tv));
    if ((q[0] | q[1] | q[2] | q[3]) != 0) {
      for (int64_t j = v; j < v + 2 * detail::VL; ++j) {
        if (a[j] >= t) out.push_back(j);
      }
    }
  }
  float s = 0.0f;
  for (int i = 0; i < detail::VL; ++i) s += acc[i];
  for (; v < n; ++v) {
    s += a[v] - a[v];
    if (a[v] >= t) out.push_back(v);
  }
  return s == 0.0f;
}

/** The largest float <= x (x finite in float range). */
float float_at_most(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) > x) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

/** The k-th largest of values (counted with multiplicity; 1 <= k <= size), reordering them. */
float kth_of(std::vector<float>& values, int64_t k) {
  std::nth_element(values.begin(), values.begin() + (k - 1), values.end(), std::greater<float>());
  return values[k - 1];
}

/**
 * float32 to bf16 bits: the CPU kernels' round to nearest even (row_softmax.h's store), and libtorch's NaN for a NaN,
 * whose bits that rounding could carry into an infinity or 0.
 */
inline uint16_t to_bf16(float f) {
  if (std::isnan(f)) return 0x7FC0;
  uint16_t b;
  detail::store(&b, 0, f);
  return b;
}

/**
 * One head row to bf16 (o); norms[0] and norms[1] get upper bounds of the 2-norms of the row and of its rounding
 * residual w - bf16(w) (each exact in double, so the sums are off by far less than the 1e-12 added).
 */
VLMR1_CLONES void pack_row(const float* w, int64_t h, uint16_t* o, double* norms) {
  double ss = 0.0;
  double rr = 0.0;
  // any order of the double sums: let them vectorise
#pragma omp simd reduction(+ : ss, rr)
  for (int64_t i = 0; i < h; ++i) {
    const uint16_t b = to_bf16(w[i]);
    o[i] = b;
    const double r = static_cast<double>(w[i]) - static_cast<double>(detail::load(&b, 0));
    ss += static_cast<double>(w[i]) * w[i];
    rr += r * r;
  }
  norms[0] = std::sqrt(ss) * (1.0 + 1e-12);
  norms[1] = std::sqrt(rr) * (1.0 + 1e-12);
}

// AMX layout: 16 vocabulary rows x 32 hidden elements make one 1 KiB tile of TDPBF16PS's B operand ("VNNI": for each
// pair of hidden elements, the pair of every one of the 16 rows), blocks of 16 rows one after the other, each holding
// its hidden pairs in order, zero-padded to whole tiles.
constexpr int64_t AMX_ROWS = 16;
constexpr int64_t AMX_K = 32;

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

/** Index of weight (v, i) in the AMX layout of a head with hidden_size padded to hp. */
inline int64_t amx_index(int64_t v, int64_t i, int64_t hp) {
  return ((v / AMX_ROWS) * (hp / 2) + i / 2) * (AMX_ROWS * 2) + (v % AMX_ROWS) * 2 + (i % 2);
}

#if defined(__x86_64__) && !defined(VLMR1_NO_CLONES)
struct TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

/**
 * Approximate logits of 16-vocabulary blocks [b0, b1) on AMX: C (16 hidden rows x 16 vocabulary rows, float32) +=
 * A (16 hidden rows x 32 bf16) x B (the block's 32 hidden elements, VNNI), four blocks per A tile; the hidden rows in
 * groups of 16 (xq zero-padded to rp rows), a block's weights streamed once per group (from L2 after the first).
 */
__attribute__((target("arch=x86-64-v4,amx-tile,amx-bf16"))) void amx_blocks(const uint16_t* xq, int64_t rows,
                                                                             int64_t rp, const uint16_t* w,
                                                                             int64_t b0, int64_t b1, int64_t vocab,
                                                                             int64_t hp, float* out) {
  TileConfig cfg;
  for (int t = 0; t < 7; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  _tile_loadconfig(&cfg);
  alignas(64) float c[16 * 16];
  const int64_t steps = hp / AMX_K;
  const int64_t block_elems = (hp / 2) * AMX_ROWS * 2;  // one 16-row block
  for (int64_t blk = b0; blk < b1; blk += 4) {
    const int64_t nb = blk + 4 <= b1 ? 4 : b1 - blk;
    const uint16_t* wb = w + blk * block_elems;
    // the next four blocks stream into L2 while these compute
    const char* pf = reinterpret_cast<const char*>(wb + nb * block_elems);
    const char* pf_end = reinterpret_cast<const char*>(w + std::min(b1, blk + nb + 4) * block_elems);
    const int64_t per_step = steps > 0 && pf_end > pf ? ((pf_end - pf) / 64 + steps - 1) / steps : 0;
    for (int64_t g = 0; g < rp; g += 16) {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t k = 0; k < steps; ++k) {
        if (g == 0) {
          for (int64_t i = 0; i < per_step && pf < pf_end; ++i, pf += 64) __builtin_prefetch(pf, 0, 1);
        }
        _tile_loadd(4, xq + g * hp + k * AMX_K, hp * 2);
        // B tiles alternate between two registers so that a load need not wait for the product before it
        _tile_loadd(5, wb + k * (AMX_K / 2) * AMX_ROWS * 2, 64);
        _tile_dpbf16ps(0, 4, 5);
        if (nb > 1) {
          _tile_loadd(6, wb + block_elems + k * (AMX_K / 2) * AMX_ROWS * 2, 64);
          _tile_dpbf16ps(1, 4, 6);
        }
        if (nb > 2) {
          _tile_loadd(5, wb + 2 * block_elems + k * (AMX_K / 2) * AMX_ROWS * 2, 64);
          _tile_dpbf16ps(2, 4, 5);
        }
        if (nb > 3) {
          _tile_loadd(6, wb + 3 * block_elems + k * (AMX_K / 2) * AMX_ROWS * 2, 64);
          _tile_dpbf16ps(3, 4, 6);
        }
      }
      const int64_t nr = std::min<int64_t>(16, rows - g);
      for (int64_t j = 0; j < nb; ++j) {
        switch (j) {
          case 0: _tile_stored(0, c, 64); break;
          case 1: _tile_stored(1, c, 64); break;
          case 2: _tile_stored(2, c, 64); break;
          default: _tile_stored(3, c, 64); break;
        }
        const int64_t v0 = (blk + j) * AMX_ROWS;
        const int64_t nv = std::min<int64_t>(AMX_ROWS, vocab - v0);
        for (int64_t r = 0; r < nr; ++r)
          for (int64_t v = 0; v < nv; ++v) out[(g + r) * vocab + v0 + v] = c[r * 16 + v];
      }
    }
  }
  _tile_release();
}

bool amx_cpu() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-bf16") ||
      !__builtin_cpu_supports("x86-64-v4"))
    return false;
  // Linux hands out the AMX tile state only on request (5.16 and later); it refuses when a thread's alternate
  // signal stack is too small for it, and the caller then keeps the other layout.
  constexpr long ARCH_REQ_XCOMP_PERM = 0x1023;
  constexpr long XFEATURE_XTILEDATA = 18;
  return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}
#endif

}  // namespace

bool lm_head_amx_available() {
#if defined(__x86_64__) && !defined(VLMR1_NO_CLONES)
  static const bool yes = amx_cpu();
  return yes;
#else
  return false;
#endif
}

int64_t lm_head_packed_elements(int64_t vocab, int64_t hidden_size, int layout) {
  if (layout == 1) return round_up(vocab, AMX_ROWS) * round_up(hidden_size, AMX_K);
  return vocab * hidden_size;
}

void lm_head_pack_bf16(const float* weight, int64_t vocab, int64_t hidden_size, uint16_t* out, double* norms,
                       int layout) {
  if (vocab <= 0 || hidden_size <= 0 || layout < 0 || layout > 1)
    throw std::invalid_argument("lm_head_pack_bf16: bad arguments vocab=" + std::to_string(vocab) + " hidden=" +
                                std::to_string(hidden_size) + " layout=" + std::to_string(layout));
  if (layout == 1 && !lm_head_amx_available())
    throw std::invalid_argument("lm_head_pack_bf16: the AMX layout needs AMX-BF16 (lm_head_amx_available)");
  if (layout == 0) {
#pragma omp parallel for schedule(static)
    for (int64_t v = 0; v < vocab; ++v) {
      pack_row(weight + v * hidden_size, hidden_size, out + v * hidden_size, norms + 2 * v);
    }
    return;
  }
  const int64_t hp = round_up(hidden_size, AMX_K);
  const int64_t vp = round_up(vocab, AMX_ROWS);
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < vp / AMX_ROWS; ++blk) {
    std::vector<uint16_t> row(hidden_size);
    for (int64_t v = blk * AMX_ROWS; v < (blk + 1) * AMX_ROWS; ++v) {
      if (v < vocab) pack_row(weight + v * hidden_size, hidden_size, row.data(), norms + 2 * v);
      for (int64_t i = 0; i < hp; ++i) out[amx_index(v, i, hp)] = v < vocab && i < hidden_size ? row[i] : 0;
    }
  }
}

void lm_head_logits_bf16(const float* hidden, const uint16_t* weight, int64_t rows, int64_t vocab,
                         int64_t hidden_size, float* out, int layout) {
  if (rows < 0 || vocab <= 0 || hidden_size <= 0 || layout < 0 || layout > 1)
    throw std::invalid_argument("lm_head_logits_bf16: bad arguments rows=" + std::to_string(rows) + " vocab=" +
                                std::to_string(vocab) + " hidden=" + std::to_string(hidden_size) + " layout=" +
                                std::to_string(layout));
  if (layout == 1 && !lm_head_amx_available())
    throw std::invalid_argument("lm_head_logits_bf16: the AMX layout needs AMX-BF16 (lm_head_amx_available)");
  if (rows == 0) return;
#if defined(__x86_64__) && !defined(VLMR1_NO_CLONES)
  if (layout == 1) {
    const int64_t hp = round_up(hidden_size, AMX_K);
    const int64_t rp = round_up(rows, 16);
    std::vector<uint16_t> xq(rp * hp, 0);  // the hidden rows in bf16 (A operands), zero-padded
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < hidden_size; ++i) xq[r * hp + i] = to_bf16(hidden[r * hidden_size + i]);
    const int64_t blocks = round_up(vocab, AMX_ROWS) / AMX_ROWS;
    constexpr int64_t PER_ITEM = 16;  // 16-row blocks per work item: 256 vocabulary rows
#pragma omp parallel for schedule(dynamic)
    for (int64_t item = 0; item < (blocks + PER_ITEM - 1) / PER_ITEM; ++item) {
      const int64_t b0 = item * PER_ITEM;
      amx_blocks(xq.data(), rows, rp, weight, b0, std::min(blocks, b0 + PER_ITEM), vocab, hp, out);
    }
    return;
  }
#endif
  head_blocks(hidden, weight, rows, vocab, hidden_size, out);
}

int64_t lm_head_candidates(const float* hidden, int64_t rows, int64_t hidden_size, const float* weight,
                           const double* norms, int64_t vocab, const float* approx, const int64_t* exact_ids,
                           int64_t n_exact, int64_t k, int64_t cap, int64_t* ids, float* logits, int64_t* counts,
                           int layout) {
  if (rows < 0 || vocab <= 0 || hidden_size <= 0 || k < 1 || k > vocab || cap < k || n_exact < 0 || layout < 0 ||
      layout > 1)
    throw std::invalid_argument("lm_head_candidates: bad arguments rows=" + std::to_string(rows) + " vocab=" +
                                std::to_string(vocab) + " hidden=" + std::to_string(hidden_size) + " k=" +
                                std::to_string(k) + " cap=" + std::to_string(cap));
  std::vector<char> exact(vocab, 0);  // ids whose approx value is exact already (overwritten by a logit bias)
  for (int64_t j = 0; j < n_exact; ++j) {
    if (exact_ids[j] < 0 || exact_ids[j] >= vocab)
      throw std::invalid_argument("lm_head_candidates: exact id " + std::to_string(exact_ids[j]) + " is not in [0, " +
                                  std::to_string(vocab) + ")");
    exact[exact_ids[j]] = 1;
  }
  // The bound beta_v = |approx - exact| for vocabulary row v, with t = sum w x (real), e = fl(sum w x) (the exact
  // kernel), w' = bf16(w), r = w - w', and x' = x (layout 0) or bf16(x) (layout 1, AMX):
  //   |approx - e| <= |approx - t'| + |t' - t| + |t - e|, t' = sum w' x' (real);
  //   a float32 dot product of n terms, in any order of fused or plain adds, is within gamma_n sum |terms| of the
  //   real one (Higham, Accuracy and Stability, 3.1), gamma_n = n u / (1 - n u), u = 2^-24, and sum |w x| <=
  //   ||w|| ||x|| (Cauchy-Schwarz): |approx - t'| <= gamma ||w'|| ||x'|| <= gamma (||w|| + ||r||) ||x'|| and
  //   |t - e| <= gamma ||w|| ||x||;
  //   t' - t = sum r x' + sum w (x' - x): |t' - t| <= ||r|| ||x'|| + ||w|| ||x - x'||.
  // So beta_v = ||r_v|| ||x'|| (1 + gamma) + ||w_v|| (||x - x'|| + gamma (||x'|| + ||x||)), from the residual norms
  // of the pack: the rounding's real size, not its worst case 2^-8 ||w||. Beyond it, absolute terms for subnormal
  // numbers: AMX flushes subnormal operands and results to 0, each below 2^-126 |other operand| or 2^-126 per add;
  // 2^-125 (sqrt(H) ||w|| + ||x||_1) + 1e-30 covers them with room.
  const double u = std::ldexp(1.0, -24);
  const double n = static_cast<double>(layout == 1 ? round_up(hidden_size, AMX_K) : hidden_size);
  const double gamma = n * u / (1.0 - n * u);
  const double tiny = std::ldexp(1.0, -125);
  constexpr double FLOOR = 1e-30;
  constexpr double SAFE = 1.0 + 1e-9;  // the double arithmetic of the bound itself
  double max_w = 0.0;
  double max_r = 0.0;
  for (int64_t v = 0; v < vocab; ++v) {
    // written so that a NaN norm (a NaN weight) propagates: beta_max is then not finite and rows take every logit
    max_w = norms[2 * v] <= max_w ? max_w : norms[2 * v];
    max_r = norms[2 * v + 1] <= max_r ? max_r : norms[2 * v + 1];
  }
  int64_t widest = 0;
#pragma omp parallel for schedule(dynamic) reduction(max : widest)
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = hidden + r * hidden_size;
    const float* a = approx + r * vocab;
    double xx = 0.0;   // ||x||^2
    double xq = 0.0;   // ||x'||^2
    double xr = 0.0;   // ||x - x'||^2
    double x1 = 0.0;   // ||x||_1
    for (int64_t i = 0; i < hidden_size; ++i) {
      const double xi = x[i];
      const uint16_t q = to_bf16(x[i]);
      const double qi = layout == 1 ? static_cast<double>(detail::load(&q, 0)) : xi;
      xx += xi * xi;
      xq += qi * qi;
      xr += (xi - qi) * (xi - qi);
      x1 += std::fabs(xi);
    }
    const double nx = std::sqrt(xx) * (1.0 + 1e-12);
    const double nq = std::sqrt(xq) * (1.0 + 1e-12);
    const double nr = std::sqrt(xr) * (1.0 + 1e-12);
    // beta_v = c_r ||r_v|| + c_w ||w_v|| + floor
    const double c_r = nq * (1.0 + gamma) * SAFE;
    const double c_w = (nr + gamma * (nq + nx) + tiny * std::sqrt(static_cast<double>(hidden_size))) * SAFE;
    const double floor = (FLOOR + tiny * x1) * SAFE;
    if (!std::isfinite(c_r) || !std::isfinite(c_w) || !std::isfinite(floor)) {
      counts[r] = -1;
      continue;
    }
    // Every lower bound is >= a - beta_max and every upper bound <= a + beta_max, so with kth_a the k-th largest a,
    // L >= kth_a - beta_max and a candidate has a >= L - beta_max >= kth_a - 2 beta_max =: T: the bounds are needed
    // only on the few ids with a >= T, and L is the k-th largest lower bound among them (the k ids of a's top k are
    // among them and the others' lower bounds are below T). kth_a is at least t0, the k-th largest of a prefix of
    // the row, so one pass collecting a >= t0 - 2 beta_max finds both kth_a (among a >= t0) and the ids a >= T: the
    // row is read once (a second pass costs as much again: the rows come from memory).
    const double beta_max = c_r * max_r + c_w * max_w + floor;
    // thresholds rounded down: a double subtraction's own rounding (<= 2^-53 of its operands) is taken off first
    auto below = [&](float top) {
      return float_at_most(static_cast<double>(top) - 2.0 * beta_max - 1e-15 * (std::fabs(top) + 2.0 * beta_max));
    };
    const int64_t prefix = std::min<int64_t>(vocab, std::max<int64_t>(64 * k, 4096));
    std::vector<float> pick(a, a + prefix);
    bool finite = true;
    for (const float p : pick) finite &= (p - p) == 0.0f;
    const float t0 = finite ? kth_of(pick, k) : 0.0f;
    std::vector<int64_t>& near = near_ids();  // ids with a >= t0 - 2 beta_max, then with a >= T, ascending
    near.clear();
    if (!finite || !std::isfinite(beta_max) || !collect_ge(a, vocab, below(t0), near)) {
      counts[r] = -1;
      continue;
    }
    pick.clear();
    for (const int64_t v : near) {
      if (a[v] >= t0) pick.push_back(a[v]);
    }
    const float tf = below(kth_of(pick, k));  // T: kth_a >= t0, so every a >= T was collected
    size_t kept = 0;
    for (const int64_t v : near) {
      if (a[v] >= tf) near[kept++] = v;
    }
    near.resize(kept);
    std::vector<double>& lower = scratch(static_cast<int64_t>(near.size()));
    for (size_t j = 0; j < near.size(); ++j) {
      const int64_t v = near[j];
      // the double sum's own rounding (<= 2^-53 of its terms) is taken off, so the bound is directed
      const double beta = c_r * norms[2 * v + 1] + c_w * norms[2 * v] + floor;
      lower[j] = exact[v] ? a[v] : a[v] - beta - 0x1p-52 * (std::fabs(a[v]) + beta);
    }
    std::nth_element(lower.begin(), lower.begin() + (k - 1), lower.begin() + near.size(), std::greater<double>());
    const double bound = lower[k - 1];  // L
    int64_t* out_ids = ids + r * cap;
    float* out_logits = logits + r * cap;
    int64_t n = 0;
    for (const int64_t v : near) {
      // an overwritten column's upper bound a + beta is above its exact a: a candidate more, never one fewer
      const double beta = c_r * norms[2 * v + 1] + c_w * norms[2 * v] + floor;
      if (a[v] + beta + 0x1p-52 * (std::fabs(a[v]) + beta) >= bound) {
        if (n < cap) out_ids[n] = v;
        ++n;
      }
    }
    counts[r] = n;
    widest = n > widest ? n : widest;
    if (n > cap) continue;  // the caller computes every logit instead
    auto prefetch_row = [&](int64_t j) {  // candidates' rows stream from memory while earlier ones compute
      if (j < n && !exact[out_ids[j]]) {
        const char* p = reinterpret_cast<const char*>(weight + out_ids[j] * hidden_size);
        for (int64_t off = 0; off < hidden_size * 4; off += 64) __builtin_prefetch(p + off, 0, 1);
      }
    };
    constexpr int64_t AHEAD = 4;  // rows in flight: one row's dot product is far shorter than its memory latency
    for (int64_t j = 0; j < AHEAD; ++j) prefetch_row(j);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t v = out_ids[j];
      prefetch_row(j + AHEAD);
      if (exact[v]) {
        out_logits[j] = a[v];
      } else {
        detail::dots(x, weight + v * hidden_size, 1, 0, 1, 1, hidden_size, out_logits + j);
        if (!std::isfinite(out_logits[j])) counts[r] = -1;
      }
    }
    for (int64_t j = n; j < cap; ++j) {
      out_ids[j] = 0;
      out_logits[j] = -std::numeric_limits<float>::infinity();
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (counts[r] < 0) return -1;
  }
  return widest;
}

}  // namespace vlmr1
