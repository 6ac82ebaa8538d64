// The scheduler behind cuda_runtime.h: a launch runs each block as blockDim fibers (ucontext) on the calling thread,
// blocks one after another, launches serialised by a mutex. A fiber runs until it reaches a barrier (__syncthreads,
// or a warp barrier inside a shuffle / __syncwarp) or returns; the scheduler then resumes the next fiber whose
// barrier has released, in the order VLMR1_EMU_ORDER names: forward (thread 0 first, the default), reverse, or
// shuffle (a fresh permutation each round, seeded by VLMR1_EMU_SEED). Running the checks under two orders catches a
// missing barrier in either direction (a value written by thread 0 and read by the others, or the reverse). A round
// in which no fiber can run is a deadlock (a barrier some live thread of the block or warp never reaches): the
// launch fails with cudaErrorLaunchFailure and a message naming the barrier, where a GPU would hang or misbehave.
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_runtime.h"

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace vlmr1emu {
namespace {

constexpr size_t STACK = 256 * 1024;  // per fiber, plus one guard page below it
constexpr unsigned int MAX_THREADS = 1024;

struct Barrier {
  unsigned int arrived = 0;
  unsigned int expected = 0;  // warp barriers: the lanes the first arrival's mask names
  unsigned int mask = 0;
  unsigned long gen = 0;
};

struct Fiber {
  ucontext_t ctx;
  char* stack = nullptr;
  uint3 tid{0, 0, 0};
  unsigned int linear = 0;
  bool done = false;
  const Barrier* waiting = nullptr;  // the barrier this fiber waits on, at generation wait_gen
  unsigned long wait_gen = 0;
  const char* where = "";
};

/** The state of the launch in progress (one at a time: launch_mutex). */
struct State {
  std::vector<Fiber> fibers;  // grown on demand, stacks kept between launches
  std::vector<Barrier> warp_bars;
  std::vector<uint64_t> slots;  // 32 per warp
  Barrier block_bar;
  unsigned int nthreads = 0;
  unsigned int live = 0;
  Body* body = nullptr;
  Fiber* cur = nullptr;
  ucontext_t sched;
  bool failed = false;
  std::string why;
};

std::mutex launch_mutex;

/** Devices the emulation pretends to have; the calling thread's current one, as the CUDA runtime keeps it. */
constexpr int DEVICES = 8;
thread_local int current_device = 0;
std::atomic<long> launches_on[DEVICES];

/** Address ranges a test named as some device's memory (vlmr1emu_mark_device); everything else is host memory. */
struct DeviceRange {
  uintptr_t begin, end;
  int device;
};
std::mutex ranges_mutex;
std::vector<DeviceRange> device_ranges;
State S;
thread_local cudaError_t last_error = cudaSuccess;
thread_local char last_detail[512] = "";

void set_error(cudaError_t err, const std::string& detail) {
  last_error = err;
  snprintf(last_detail, sizeof last_detail, "%s", detail.c_str());
  fprintf(stderr, "[cuda-emu] %s\n", last_detail);
}

void entry() {
  Fiber* f = S.cur;
  S.body->run();
  f->done = true;
  --S.live;
  // A returned thread no longer takes part in __syncthreads: the others may now all be there.
  Barrier& b = S.block_bar;
  if (b.arrived > 0 && b.arrived == S.live) {
    b.arrived = 0;
    ++b.gen;
  }
  // uc_link returns to the scheduler.
}

void yield_to_scheduler(Fiber* f) { swapcontext(&f->ctx, &S.sched); }

/** Waits on b until its generation moves on (the last arrival moves it and goes on without waiting). */
void arrive(Barrier& b, unsigned int expected, const char* where) {
  Fiber* f = S.cur;
  if (++b.arrived == expected) {
    b.arrived = 0;
    b.expected = 0;
    b.mask = 0;
    ++b.gen;
    return;
  }
  f->waiting = &b;
  f->wait_gen = b.gen;
  f->where = where;
  yield_to_scheduler(f);
  f->waiting = nullptr;
}

unsigned int env_order() {
  const char* o = getenv("VLMR1_EMU_ORDER");
  if (!o || !*o || !strcmp(o, "forward")) return 0;
  if (!strcmp(o, "reverse")) return 1;
  if (!strcmp(o, "shuffle")) return 2;
  fprintf(stderr, "[cuda-emu] VLMR1_EMU_ORDER=%s: expected forward, reverse or shuffle; using forward\n", o);
  return 0;
}

uint64_t rng_state = 0;

uint64_t next_random() {
  // xorshift64*: enough to vary the interleaving, reproducible from VLMR1_EMU_SEED.
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

void ensure_fibers(unsigned int n) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  while (S.fibers.size() < n) {
    S.fibers.emplace_back();
    void* mem = mmap(nullptr, STACK + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      S.fibers.pop_back();
      throw std::bad_alloc();
    }
    mprotect(mem, page, PROT_NONE);  // a stack overflow faults here instead of corrupting a neighbour
    S.fibers.back().stack = static_cast<char*>(mem) + page;
  }
}

/** Runs one block to completion; false (with S.why) on a deadlock. */
bool run_block(unsigned int nthreads, const dim3& block, unsigned int order, std::vector<unsigned int>& perm) {
  const unsigned int warps = (nthreads + 31) / 32;
  S.warp_bars.assign(warps, Barrier{});
  S.slots.assign(static_cast<size_t>(warps) * 32, 0);
  S.block_bar = Barrier{};
  S.nthreads = nthreads;
  S.live = nthreads;
  for (unsigned int i = 0; i < nthreads; ++i) {
    Fiber& f = S.fibers[i];
    f.linear = i;
    f.tid = uint3{i % block.x, (i / block.x) % block.y, i / (block.x * block.y)};
    f.done = false;
    f.waiting = nullptr;
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack;
    f.ctx.uc_stack.ss_size = STACK;
    f.ctx.uc_link = &S.sched;
    makecontext(&f.ctx, entry, 0);
  }
  for (unsigned int i = 0; i < nthreads; ++i) perm[i] = order == 1 ? nthreads - 1 - i : i;
  while (S.live > 0) {
    if (order == 2) {
      for (unsigned int i = nthreads - 1; i > 0; --i) std::swap(perm[i], perm[next_random() % (i + 1)]);
    }
    bool ran = false;
    for (unsigned int k = 0; k < nthreads; ++k) {
      Fiber& f = S.fibers[perm[k]];
      if (f.done || (f.waiting && f.waiting->gen == f.wait_gen)) continue;
      ran = true;
      S.cur = &f;
      threadIdx = f.tid;
      swapcontext(&S.sched, &f.ctx);
    }
    if (!ran) {
      unsigned int at_block = 0, at_warp = 0;
      const char* where = "";
      for (unsigned int i = 0; i < nthreads; ++i) {
        const Fiber& f = S.fibers[i];
        if (f.done) continue;
        if (f.waiting == &S.block_bar) {
          ++at_block;
        } else {
          ++at_warp;
          where = f.where;
        }
      }
      char buf[256];
      snprintf(buf, sizeof buf, "deadlock in block (%u, %u, %u): %u of %u threads live, %u at __syncthreads, %u at a "
               "warp barrier (%s): a barrier not every live thread reaches",
               blockIdx.x, blockIdx.y, blockIdx.z, S.live, nthreads, at_block, at_warp, where);
      S.why = buf;
      return false;
    }
  }
  return true;
}

}  // namespace

void block_barrier() {
  // Threads that returned no longer take part (they cannot arrive); the rest must all come.
  arrive(S.block_bar, S.live, "__syncthreads");
}

unsigned int lane_id() { return S.cur->linear & 31u; }

void warp_barrier(unsigned int mask, const char* what) {
  const unsigned int warp = S.cur->linear / 32;
  const unsigned int in_warp = S.nthreads - warp * 32 < 32 ? S.nthreads - warp * 32 : 32;
  const unsigned int exists = in_warp == 32 ? 0xFFFFFFFFu : (1u << in_warp) - 1;  // a partial last warp
  Barrier& b = S.warp_bars[warp];
  const unsigned int lane = S.cur->linear & 31u;
  if (!(mask >> lane & 1u) || (mask & ~exists)) {
    S.failed = true;
    S.why = std::string(what) + ": mask names a lane outside the warp or omits the calling lane";
  }
  if (b.arrived == 0) {
    b.mask = mask;
    b.expected = static_cast<unsigned int>(__builtin_popcount(mask & exists));
  } else if (b.mask != mask) {
    S.failed = true;
    S.why = std::string(what) + ": lanes of one warp meet with different masks";
  }
  arrive(b, b.expected, what);
}

void* warp_slot(unsigned int lane) { return &S.slots[(S.cur->linear / 32) * 32 + lane]; }

void run_grid(dim3 grid, dim3 block, size_t smem, cudaStream_t, Body& body) {
  const uint64_t nthreads = static_cast<uint64_t>(block.x) * block.y * block.z;
  if (nthreads == 0 || nthreads > MAX_THREADS || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.x > 0x7FFFFFFFu || grid.y > 65535 || grid.z > 65535 || smem > 48 * 1024) {
    set_error(cudaErrorInvalidConfiguration, "launch of grid (" + std::to_string(grid.x) + ", " +
              std::to_string(grid.y) + ", " + std::to_string(grid.z) + ") x block (" + std::to_string(block.x) +
              ", " + std::to_string(block.y) + ", " + std::to_string(block.z) + "), " + std::to_string(smem) +
              " bytes of dynamic shared memory: invalid configuration argument");
    return;
  }
  std::lock_guard<std::mutex> lock(launch_mutex);
  launches_on[current_device].fetch_add(1);
  const unsigned int order = env_order();
  if (order == 2 && rng_state == 0) {
    const char* seed = getenv("VLMR1_EMU_SEED");
    rng_state = (seed ? strtoull(seed, nullptr, 10) : 1) * 0x9E3779B97F4A7C15ULL | 1;
  }
  ensure_fibers(static_cast<unsigned int>(nthreads));
  std::vector<unsigned int> perm(nthreads);
  S.body = &body;
  S.failed = false;
  blockDim = block;
  gridDim = grid;
  for (unsigned int z = 0; z < grid.z; ++z) {
    for (unsigned int y = 0; y < grid.y; ++y) {
      for (unsigned int x = 0; x < grid.x; ++x) {
        blockIdx = uint3{x, y, z};
        if (!run_block(static_cast<unsigned int>(nthreads), block, order, perm) || S.failed) {
          set_error(cudaErrorLaunchFailure, "unspecified launch failure (emulator: " + S.why + ")");
          return;
        }
      }
    }
  }
}

}  // namespace vlmr1emu

cudaError_t cudaGetLastError(void) {
  const cudaError_t e = vlmr1emu::last_error;
  vlmr1emu::last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError(void) { return vlmr1emu::last_error; }

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr) {
  if (!attributes) {
    vlmr1emu::set_error(cudaErrorInvalidValue, "invalid argument");
    return cudaErrorInvalidValue;
  }
  *attributes = cudaPointerAttributes{cudaMemoryTypeUnregistered, -2, nullptr, const_cast<void*>(ptr)};
  const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  std::lock_guard<std::mutex> lock(vlmr1emu::ranges_mutex);
  for (const vlmr1emu::DeviceRange& r : vlmr1emu::device_ranges) {
    if (p >= r.begin && p < r.end) {
      *attributes = cudaPointerAttributes{cudaMemoryTypeDevice, r.device, const_cast<void*>(ptr), nullptr};
    }
  }
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) {
    vlmr1emu::set_error(cudaErrorInvalidValue, "invalid argument");
    return cudaErrorInvalidValue;
  }
  *device = vlmr1emu::current_device;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= vlmr1emu::DEVICES) {
    vlmr1emu::set_error(cudaErrorInvalidDevice, "invalid device ordinal");
    return cudaErrorInvalidDevice;
  }
  vlmr1emu::current_device = device;
  return cudaSuccess;
}

// Test hooks of the emulation (not the CUDA runtime's API): check.py's device contract check calls them.

/** Names [p, p + bytes) as device `device`'s memory; a negative device forgets every range named so far. */
extern "C" void vlmr1emu_mark_device(const void* p, size_t bytes, int device) {
  std::lock_guard<std::mutex> lock(vlmr1emu::ranges_mutex);
  if (device < 0) {
    vlmr1emu::device_ranges.clear();
    return;
  }
  const uintptr_t b = reinterpret_cast<uintptr_t>(p);
  vlmr1emu::device_ranges.push_back(vlmr1emu::DeviceRange{b, b + bytes, device});
}

/** Launches made so far while `device` was the launching thread's current device. */
extern "C" long vlmr1emu_launches(int device) {
  return device >= 0 && device < vlmr1emu::DEVICES ? vlmr1emu::launches_on[device].load() : -1;
}

/** The calling thread's current device. */
extern "C" int vlmr1emu_current_device(void) { return vlmr1emu::current_device; }

const char* cudaGetErrorString(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidConfiguration:
    case cudaErrorLaunchFailure: return vlmr1emu::last_detail;
  }
  return "unknown error";
}

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}
