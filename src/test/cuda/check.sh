#!/usr/bin/env bash
# The GPU check of vlmr1's CUDA twins: the one command run on the GPU machine (one H200, nvcc 13.x, Python 3 with
# PyTorch; no Java, no Maven, no network), from the repository root, results in $OUT. It compiles
# src/main/native/cuda/*.cu for sm_90 only into a shared library, runs the smoke test (one tiny call of each kernel,
# in its own process), then the goldens, the large-shape oracle comparison and the timings (src/test/cuda/check.py),
# writing $OUT/{build.log, smoke.*, check.log, check.json, check.md} as it goes. Finishes in under 4 minutes.
#   OUT=/tmp/out src/test/cuda/check.sh                 # the GPU run
#   src/test/cuda/check.sh --oracle-only                # no GPU: the PyTorch oracle against the goldens, on the CPU
#   src/test/cuda/check.sh --compile-only [SRC_DIR]     # no GPU: nvcc only (catches ABI / compile errors)
#   src/test/cuda/check.sh --emulate                    # no GPU: the kernels' own source run on the CPU (g++ and the
#                                                       # shim in src/test/cuda/emu): smoke, goldens, contract, and
#                                                       # the large phase at B=2 T=4 (LARGE_SHAPE); no timing. With
#                                                       # SANITIZE=address: under AddressSanitizer (out-of-bounds
#                                                       # reads / writes in the kernels), smoke + goldens only
# Environment: OUT (default /tmp/vlmr1-cuda-check), PYTHON (default python3), NVCC (default nvcc), CUDA_ARCH (default
# sm_90), CHECK_BUDGET_S (seconds for check.py's phases, default 140), CUDA_SRC (default src/main/native/cuda),
# DUMP_TORCH_SYMBOLS=1 (also write $OUT/torch-symbols: the device PyTorch's exported symbols, for jni_symbols.sh).
# Exit status: 0 all passed; 1 a correctness check failed (or check.py itself raised); 2 a kernel errored or
# crashed; 3 the build failed; 124 check.py ran past its budget and was stopped (its results so far are in $OUT).
set -u
cd "$(dirname "$0")/../../.."
OUT="${OUT:-/tmp/vlmr1-cuda-check}"
export PYTHONDONTWRITEBYTECODE=1
PYTHON="${PYTHON:-python3}"
NVCC="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
ARCH="${CUDA_ARCH:-sm_90}"
BUDGET="${CHECK_BUDGET_S:-140}"
mkdir -p "$OUT"
LOG="$OUT/check.log"
say() { echo "[check.sh $(date -u +%H:%M:%S)] $*" | tee -a "$LOG"; }

if [ "${1:-}" = "--oracle-only" ]; then
  exec "$PYTHON" src/test/cuda/check.py --oracle-only --out "$OUT"
fi

if [ "${1:-}" = "--emulate" ]; then
  # VLMR1_EMU_ORDER (forward, reverse, shuffle) picks the emulator's thread interleaving; see emu/cuda_emu.cpp.
  LIB="$OUT/libvlmr1cuda_emu.so"
  say "building $LIB (CPU emulation, ${VLMR1_EMU_ORDER:-forward} order)"
  if ! src/test/cuda/emu/build.sh "$LIB" >"$OUT/build.log" 2>&1; then
    tee -a "$LOG" <"$OUT/build.log"
    say "BUILD FAILED"
    exit 3
  fi
  PHASES=goldens,large
  if [ -n "${SANITIZE:-}" ]; then
    # The sanitizer's runtime must come first in the process; torch's own C++ exceptions (raised by the oracle's
    # fallbacks in the large phase) trip its __cxa_throw interceptor, so that phase is left out.
    LD_PRELOAD="$(${CXX:-g++} -print-file-name="lib${SANITIZE/address/asan}.so")"
    export LD_PRELOAD ASAN_OPTIONS=detect_leaks=0
    PHASES=goldens
  fi
  timeout 45 "$PYTHON" src/test/cuda/check.py --emulated --lib "$LIB" --out "$OUT" --phases smoke || exit 2
  exec timeout 600 "$PYTHON" src/test/cuda/check.py --emulated --lib "$LIB" --out "$OUT" --phases "$PHASES" \
    ${LARGE_SHAPE:+--large-shape "$LARGE_SHAPE"}
fi

SRC="${CUDA_SRC:-src/main/native/cuda}"
if [ "${1:-}" = "--compile-only" ]; then
  SRC="${2:-$SRC}"
fi
LIB="$OUT/libvlmr1cuda.so"
shopt -s nullglob
CU=("$SRC"/*.cu)
if [ ${#CU[@]} -eq 0 ]; then
  say "no CUDA sources in $SRC"
  exit 3
fi
say "nvcc: $("$NVCC" --version | tail -1)"
say "building $LIB from ${#CU[@]} sources for $ARCH"
T0=$(date +%s)
# nvcc without cppbuild.sh: -O3, position-independent host code, sm_90 code only (the device is an H200); the
# sources compile in parallel (the GPU machine has 16 cores and its minutes are scarce), then link with static cudart.
OBJ="$(mktemp -d)"
FLAGS=(-Xcompiler -fPIC -O3 -std=c++17 -arch="$ARCH" -I"$SRC" -I src/main/native)
PIDS=()
for cu in "${CU[@]}"; do
  "$NVCC" "${FLAGS[@]}" -c "$cu" -o "$OBJ/$(basename "${cu%.cu}").o" >"$OBJ/$(basename "$cu").log" 2>&1 &
  PIDS+=($!)
done
BUILD_OK=1
for pid in "${PIDS[@]}"; do
  wait "$pid" || BUILD_OK=0
done
cat "$OBJ"/*.log >"$OUT/build.log" 2>/dev/null
if [ $BUILD_OK -eq 1 ]; then
  "$NVCC" -shared -arch="$ARCH" "$OBJ"/*.o -o "$LIB" >>"$OUT/build.log" 2>&1 || BUILD_OK=0
fi
rm -rf "$OBJ"
if [ $BUILD_OK -ne 1 ]; then
  tee -a "$LOG" <"$OUT/build.log"
  say "BUILD FAILED"
  exit 3
fi
say "built in $(( $(date +%s) - T0 )) s: $(stat -c %s "$LIB") bytes"
if [ "${1:-}" = "--compile-only" ]; then
  nm -D --defined-only "$LIB" | grep ' T vlmr1_cuda_' | tee -a "$LOG"
  exit 0
fi

# The driver for the record (check.py records torch, its CUDA and the device); the smoke process's cold torch import
# is within its timeout.
say "driver: $(nvidia-smi --query-gpu=driver_version,name --format=csv,noheader 2>/dev/null | head -1)"
say "smoke test"
timeout 75 "$PYTHON" src/test/cuda/check.py --lib "$LIB" --out "$OUT" --phases smoke
RC=$?
if [ $RC -ne 0 ]; then
  say "smoke test failed (exit $RC): see $OUT/smoke.log"
  exit 2
fi
if [ "${DUMP_TORCH_SYMBOLS:-0}" = "1" ]; then
  # Opt-in, about a second: the dynamic symbols this PyTorch's libraries define, for the dev-side check of whether
  # JavaCPP's JNI libraries could run against them (src/test/cuda/jni_symbols.sh; issue 17's carry-the-JVM question).
  TORCH_LIB="$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
  mkdir -p "$OUT/torch-symbols"
  for so in libtorch_cpu.so libc10.so libtorch_cuda.so libc10_cuda.so libtorch.so; do
    [ -f "$TORCH_LIB/$so" ] && nm -D --defined-only "$TORCH_LIB/$so" | awk '{print $3}' | sort -u \
      | gzip -9 >"$OUT/torch-symbols/$so.txt.gz"
  done
  ldd --version 2>&1 | head -1 >"$OUT/torch-symbols/glibc.txt"
  say "torch symbols: $(ls "$OUT/torch-symbols" | tr '\n' ' ')"
fi
say "goldens, large shapes, timing (budget ${BUDGET} s)"
timeout $((BUDGET + 20)) "$PYTHON" src/test/cuda/check.py --lib "$LIB" --out "$OUT" --budget-s "$BUDGET" \
  --phases goldens,large,timing
RC=$?
# 124: timeout killed check.py past its budget; what it had checked is in $OUT already (written as it goes)
[ $RC -eq 124 ] && say "check.py ran past $((BUDGET + 20)) s and was stopped"
say "check.py exit $RC; results: $OUT/check.md"
[ -f "$OUT/check.md" ] && cat "$OUT/check.md"
exit $RC
