// Image preprocessing kernels: Pillow's bicubic resize bit for bit and Qwen's normalise + patchify
// (ARCHITECTURES.md A3). Their oracle is the Java reference (org.vlmr1.data.PillowResize,
// org.vlmr1.module.qwen.QwenImageProcessor); built without -ffast-math and in ISO C++ (no FP contraction) so the
// double coefficients and float normalisation round exactly as the reference does. OpenMP over output rows.
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "vlmr1_kernels.h"

namespace vlmr1 {
namespace {

constexpr int PRECISION_BITS = 32 - 8 - 2;

double bicubic(double x) {
  const double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

struct Coeffs {
  int ksize;
  std::vector<int> bounds;  // (xmin, count) per output pixel
  std::vector<int> k;       // fixed-point weights, ksize per output pixel
};

Coeffs coeffs(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(static_cast<float>(in_size) - 0.0f) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 2.0 * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(out_size * 2);
  c.k.assign(out_size * c.ksize, 0);
  std::vector<double> w(c.ksize);
  for (int64_t xx = 0; xx < out_size; xx++) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = static_cast<int>(in_size);
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; x++) {
      const double v = bicubic((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (int x = 0; x < c.ksize; x++) {
      const double v = x < xmax ? (ww != 0.0 ? w[x] / ww : w[x]) : 0.0;
      c.k[xx * c.ksize + x] = v < 0 ? static_cast<int>(-0.5 + v * (1 << PRECISION_BITS))
                                    : static_cast<int>(0.5 + v * (1 << PRECISION_BITS));
    }
    c.bounds[xx * 2] = xmin;
    c.bounds[xx * 2 + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int in) {
  if (in >= (1 << PRECISION_BITS << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<uint8_t>(in >> PRECISION_BITS);
}

}  // namespace

void pillow_resize_bicubic(const uint8_t* in, int64_t in_w, int64_t in_h, uint8_t* out, int64_t out_w,
                           int64_t out_h) {
  if (in_w < 1 || in_h < 1 || out_w < 1 || out_h < 1)
    throw std::invalid_argument("pillow_resize_bicubic: bad size " + std::to_string(in_w) + "x" +
                                std::to_string(in_h) + " -> " + std::to_string(out_w) + "x" + std::to_string(out_h));
  std::vector<uint8_t> tmp;
  const uint8_t* src = in;
  int64_t w = in_w;
  if (out_w != in_w) {
    const Coeffs c = coeffs(in_w, out_w);
    tmp.resize(out_w * in_h * 3);
#pragma omp parallel for schedule(static)
    for (int64_t y = 0; y < in_h; y++) {
      for (int64_t xx = 0; xx < out_w; xx++) {
        const int xmin = c.bounds[xx * 2], xmax = c.bounds[xx * 2 + 1];
        const int* k = &c.k[xx * c.ksize];
        int s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
        for (int x = 0; x < xmax; x++) {
          const uint8_t* p = in + (y * in_w + x + xmin) * 3;
          s0 += p[0] * k[x];
          s1 += p[1] * k[x];
          s2 += p[2] * k[x];
        }
        uint8_t* d = &tmp[(y * out_w + xx) * 3];
        d[0] = clip8(s0);
        d[1] = clip8(s1);
        d[2] = clip8(s2);
      }
    }
    src = tmp.data();
    w = out_w;
  }
  if (out_h != in_h) {
    const Coeffs c = coeffs(in_h, out_h);
#pragma omp parallel for schedule(static)
    for (int64_t yy = 0; yy < out_h; yy++) {
      const int ymin = c.bounds[yy * 2], ymax = c.bounds[yy * 2 + 1];
      const int* k = &c.k[yy * c.ksize];
      for (int64_t xx = 0; xx < w; xx++) {
        int s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
        for (int y = 0; y < ymax; y++) {
          const uint8_t* p = src + ((y + ymin) * w + xx) * 3;
          s0 += p[0] * k[y];
          s1 += p[1] * k[y];
          s2 += p[2] * k[y];
        }
        uint8_t* d = out + (yy * w + xx) * 3;
        d[0] = clip8(s0);
        d[1] = clip8(s1);
        d[2] = clip8(s2);
      }
    }
  } else {
    std::memcpy(out, src, static_cast<size_t>(w * in_h * 3));
  }
}

void qwen_patchify(const uint8_t* rgb, int64_t h, int64_t w, const float* mean, const float* std, float* out) {
  constexpr int P = 14, M = 2, T = 2, ROW = 3 * T * P * P;
  if (h < 28 || w < 28 || h % 28 != 0 || w % 28 != 0)
    throw std::invalid_argument("qwen_patchify: " + std::to_string(w) + "x" + std::to_string(h) +
                                " is not a multiple of 28 on both sides");
  const int64_t gh = h / P, gw = w / P;
  // float32(double(u8) * (1/255)) then (x - mean) / std in float32, for every byte value of each channel.
  float lut[3][256];
  const double scale = 1.0 / 255;
  for (int c = 0; c < 3; c++)
    for (int v = 0; v < 256; v++) lut[c][v] = (static_cast<float>(v * scale) - mean[c]) / std[c];
#pragma omp parallel for schedule(static)
  for (int64_t block = 0; block < (gh / M) * (gw / M); block++) {
    const int64_t bh = block / (gw / M), bw = block % (gw / M);
    for (int mh = 0; mh < M; mh++)
      for (int mw = 0; mw < M; mw++) {
        const int64_t row = block * 4 + mh * M + mw;
        const int64_t pr = bh * M + mh, pc = bw * M + mw;
        float* o = out + row * ROW;
        for (int c = 0; c < 3; c++)
          for (int tp = 0; tp < T; tp++)
            for (int py = 0; py < P; py++) {
              const uint8_t* s = rgb + ((pr * P + py) * w + pc * P) * 3 + c;
              for (int px = 0; px < P; px++) *o++ = lut[c][s[px * 3]];
            }
      }
  }
}

void internvl_tiles(const uint8_t* rgb, int64_t cols, int64_t rows, int64_t size, const float* mean,
                    const float* std, float* out) {
  if (cols < 1 || rows < 1 || size < 1)
    throw std::invalid_argument("internvl_tiles: bad grid " + std::to_string(cols) + "x" + std::to_string(rows) +
                                " of " + std::to_string(size) + " px tiles");
  // ToTensor divides in float32 (u8.float() / 255), Normalize subtracts and divides in float32: one table per channel.
  float lut[3][256];
  for (int c = 0; c < 3; c++)
    for (int v = 0; v < 256; v++) lut[c][v] = (static_cast<float>(v) / 255.0f - mean[c]) / std[c];
  const int64_t w = cols * size;
  const int64_t plane = size * size;
#pragma omp parallel for schedule(static)
  for (int64_t job = 0; job < rows * cols * 3; job++) {
    const int64_t tile = job / 3, c = job % 3;
    const int64_t x0 = (tile % cols) * size, y0 = (tile / cols) * size;
    float* o = out + tile * 3 * plane + c * plane;
    for (int64_t y = 0; y < size; y++) {
      const uint8_t* s = rgb + ((y0 + y) * w + x0) * 3 + c;
      for (int64_t x = 0; x < size; x++) *o++ = lut[c][s[x * 3]];
    }
  }
}

}  // namespace vlmr1
