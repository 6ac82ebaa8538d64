#!/usr/bin/env bash
# Builds the CPU emulation of the CUDA twins: src/main/native/cuda/*.cu compiled by g++ as C++ against this
# directory's cuda_runtime.h, linked with the fiber scheduler (cuda_emu.cpp) into a host shared library exporting the
# same vlmr1_cuda_* ABI as the nvcc build. -ffp-contract=off keeps every a*b+c two roundings, as the _rn intrinsics
# promise on the GPU; warnings are errors, as in the nvcc compile test.
#   src/test/cuda/emu/build.sh /tmp/emu/libvlmr1cuda_emu.so
#   src/test/cuda/emu/build.sh --selftest /tmp/emu/selftest     # the emulator's own test program (selftest.cu)
#   src/test/cuda/emu/build.sh --archives /tmp/emu/lib            # static archives for JavaCPP's -gpu JNI link of
#       CudaNative (CudaProviderEmulationTest): libvlmr1kernels_cuda.a holds the kernels and the shim, libcudart.a is
#       empty (the shim is the runtime; the link's -lcudart must still resolve, and not to a real CUDA runtime)
# Environment: CXX (default g++), CUDA_SRC (default src/main/native/cuda), SANITIZE (e.g. address: build with
# -fsanitize=address; the process must then preload the sanitizer runtime, as check.sh --emulate does).
set -eu
cd "$(dirname "$0")/../../../.."
CXX="${CXX:-g++}"
SRC="${CUDA_SRC:-src/main/native/cuda}"
EMU=src/test/cuda/emu
FLAGS=(-std=c++17 -O2 -ffp-contract=off -fno-fast-math -fPIC -pthread -Wall -Wextra -Werror -Wno-unknown-pragmas
  -I"$EMU" -I"$SRC" -I src/main/native ${SANITIZE:+-fsanitize=$SANITIZE -fno-omit-frame-pointer})
if [ "${1:-}" = "--selftest" ]; then
  BIN="${2:?usage: build.sh --selftest BINARY}"
  mkdir -p "$(dirname "$BIN")"
  exec "$CXX" "${FLAGS[@]}" -x c++ "$EMU"/selftest.cu "$SRC"/vlmr1_cuda.cu -x none "$EMU"/cuda_emu.cpp -o "$BIN"
fi
ARCHIVES=""
if [ "${1:-}" = "--archives" ]; then
  ARCHIVES="${2:?usage: build.sh --archives DIR}"
fi
LIB="${1:?usage: build.sh OUTPUT.so}"
OBJ="$(mktemp -d)"
trap 'rm -rf "$OBJ"' EXIT
PIDS=()
for f in "$SRC"/*.cu "$EMU"/cuda_emu.cpp; do
  "$CXX" "${FLAGS[@]}" -x c++ -c "$f" -o "$OBJ/$(basename "$f").o" &
  PIDS+=($!)
done
for pid in "${PIDS[@]}"; do
  wait "$pid"
done
if [ -n "$ARCHIVES" ]; then
  mkdir -p "$ARCHIVES"
  rm -f "$ARCHIVES"/libvlmr1kernels_cuda.a "$ARCHIVES"/libcudart.a
  ar rcs "$ARCHIVES"/libvlmr1kernels_cuda.a "$OBJ"/*.o
  ar rcs "$ARCHIVES"/libcudart.a
  exit 0
fi
mkdir -p "$(dirname "$LIB")"
"$CXX" ${SANITIZE:+-fsanitize=$SANITIZE} -shared -pthread "$OBJ"/*.o -o "$LIB"
