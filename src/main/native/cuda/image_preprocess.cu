// vlmr1_cuda_qwen_patchify / vlmr1_cuda_internvl_tiles: the CUDA twins of the normalise + patchify kernels of
// image_preprocess.cpp, one thread per output float (grid-stride), so the writes are coalesced. Each value is the
// CPU's float32 math, operation for operation: Qwen float32(double(u8) * (1 / 255)) then (x - mean) / std in float32,
// InternVL (float32(u8) / 255f - mean) / std. The _rn intrinsics pin each rounding (and forbid fma contraction or a
// reciprocal-multiply division whatever the flags), so the outputs are the CPU's bits. The Pillow resize stays on
// the CPU: it runs before the upload, on uint8.
#include "vlmr1_cuda_common.cuh"

namespace vlmr1cuda {
namespace {

constexpr int IMG_THREADS = 256;
constexpr int64_t MAX_IMG_BLOCKS = 1 << 16;

inline unsigned img_blocks(int64_t total) {
  const int64_t blocks = (total + IMG_THREADS - 1) / IMG_THREADS;
  return static_cast<unsigned>(blocks < MAX_IMG_BLOCKS ? blocks : MAX_IMG_BLOCKS);
}

constexpr int P = 14;                 // patch side
constexpr int M = 2;                  // 2x2 patches merge into one token
constexpr int T = 2;                  // frames (a still image repeated)
constexpr int ROW = 3 * T * P * P;    // 1176 columns: (channel, frame, y, x)

// rgb: (h, w, 3) uint8; out: (h/14 * w/14, 1176) f32, rows in 2x2 merge-block order.
__global__ void __launch_bounds__(IMG_THREADS)
    qwen_patchify_kernel(const uint8_t* rgb, int64_t h, int64_t w, const float* mean, const float* std, float* out) {
  const int64_t gw = w / P, blocks_w = gw / M;
  const int64_t total = (h / P) * gw * ROW;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * IMG_THREADS + threadIdx.x; o < total;
       o += static_cast<int64_t>(gridDim.x) * IMG_THREADS) {
    const int64_t row = o / ROW;
    const int col = static_cast<int>(o % ROW);
    const int c = col / (T * P * P), py = (col % (P * P)) / P, px = col % P;  // the frame index only repeats
    const int64_t block = row / (M * M);
    const int mh = static_cast<int>(row % (M * M)) / M, mw = static_cast<int>(row % M);
    const int64_t pr = (block / blocks_w) * M + mh, pc = (block % blocks_w) * M + mw;
    const uint8_t v = rgb[((pr * P + py) * w + pc * P + px) * 3 + c];
    const float x = static_cast<float>(__dmul_rn(static_cast<double>(v), 1.0 / 255));
    out[o] = __fdiv_rn(__fsub_rn(x, mean[c]), std[c]);
  }
}

// rgb: (rows * size, cols * size, 3) uint8; out: (rows * cols, 3, size, size) f32, tiles row-major.
__global__ void __launch_bounds__(IMG_THREADS)
    internvl_tiles_kernel(const uint8_t* rgb, int64_t cols, int64_t rows, int64_t size, const float* mean,
                          const float* std, float* out) {
  const int64_t plane = size * size, w = cols * size;
  const int64_t total = rows * cols * 3 * plane;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * IMG_THREADS + threadIdx.x; o < total;
       o += static_cast<int64_t>(gridDim.x) * IMG_THREADS) {
    const int64_t tile = o / (3 * plane);
    const int c = static_cast<int>((o / plane) % 3);
    const int64_t y = (o % plane) / size, x = o % size;
    const int64_t x0 = (tile % cols) * size, y0 = (tile / cols) * size;
    const uint8_t v = rgb[((y0 + y) * w + x0 + x) * 3 + c];
    out[o] = __fdiv_rn(__fsub_rn(__fdiv_rn(static_cast<float>(v), 255.0f), mean[c]), std[c]);
  }
}

}  // namespace
}  // namespace vlmr1cuda

using namespace vlmr1cuda;

extern "C" int vlmr1_cuda_qwen_patchify(const uint8_t* rgb, int64_t h, int64_t w, const float* mean, const float* std,
                                        float* out, void* stream) {
  if (h < 28 || w < 28 || h % 28 != 0 || w % 28 != 0)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "qwen_patchify: %lldx%lld is not a multiple of 28 on both sides",
                static_cast<long long>(w), static_cast<long long>(h));
  if (!rgb || !mean || !std || !out)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "qwen_patchify: rgb, mean, std and out must not be null");
  const DeviceOf on_device(rgb);  // launch on the device that holds the data
  VLMR1_LAUNCH(qwen_patchify_kernel, img_blocks((h / P) * (w / P) * ROW), IMG_THREADS, 0, as_stream(stream))(
      rgb, h, w, mean, std, out);
  return launched("qwen_patchify");
}

extern "C" int vlmr1_cuda_internvl_tiles(const uint8_t* rgb, int64_t cols, int64_t rows, int64_t size,
                                         const float* mean, const float* std, float* out, void* stream) {
  if (cols < 1 || rows < 1 || size < 1)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "internvl_tiles: bad grid %lldx%lld of %lld px tiles",
                static_cast<long long>(cols), static_cast<long long>(rows), static_cast<long long>(size));
  if (!rgb || !mean || !std || !out)
    return fail(VLMR1_CUDA_BAD_ARGUMENT, "internvl_tiles: rgb, mean, std and out must not be null");
  const DeviceOf on_device(rgb);  // launch on the device that holds the data
  VLMR1_LAUNCH(internvl_tiles_kernel, img_blocks(rows * cols * 3 * size * size), IMG_THREADS, 0,
               as_stream(stream))(rgb, cols, rows, size, mean, std, out);
  return launched("internvl_tiles");
}
