#!/usr/bin/env bash
# Builds the native kernels of src/main/native into cppbuild/<platform><extension>/{include,lib}, in the manner of
# javacpp-presets' cppbuild.sh. Maven calls it (generate-resources); the JavaCPP plugin then links the JNI glue of
# org.vlmr1.kernels.GrpoNative against cppbuild/<platform><extension>/lib/libvlmr1kernels.a.
#
#   bash cppbuild.sh [-platform=linux-x86_64] [-extension=] [install|clean]
#
# CPU: g++ -O3 -fopenmp for the x86-64 baseline; the hot row kernels carry target clones (AVX-512, AVX2+FMA, baseline)
# chosen at load time, so the library is fast on the build machine's class of CPU and safe on any x86-64.
# -extension=-gpu builds the same CPU library into cppbuild/<platform>-gpu/ and, with nvcc, the CUDA twins of
# src/main/native/cuda: lib/libvlmr1kernels_cuda.a (static, for the JavaCPP link) and lib/libvlmr1cuda.so (shared,
# CUDA runtime linked statically, for the ctypes GPU checks), for sm_80 and sm_90 plus compute_90 PTX.
# Environment: CXX (default g++), CXXFLAGS (appended); with -gpu also NVCC (default nvcc), CUDA_ARCHS (default
# "80 90": SASS for each, PTX for the last) and NVCCFLAGS (appended).
set -euo pipefail

operation=install
platform=""
extension=""
for arg in "$@"; do
  case "$arg" in
    -platform=*) platform="${arg#-platform=}" ;;
    -extension=*) extension="${arg#-extension=}" ;;
    install|clean) operation="$arg" ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "cppbuild.sh: unknown argument '$arg' (expected -platform=..., -extension=..., install or clean)" >&2; exit 2 ;;
  esac
done
if [[ -z "$platform" ]]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) platform=linux-x86_64 ;;
    Linux-aarch64) platform=linux-arm64 ;;
    *) echo "cppbuild.sh: unsupported build host $(uname -s)-$(uname -m); pass -platform=" >&2; exit 2 ;;
  esac
fi

top="$(cd "$(dirname "$0")" && pwd)"
src="$top/src/main/native"
out="$top/cppbuild/$platform$extension"

if [[ "$operation" == clean ]]; then
  rm -rf "$out"
  echo "cppbuild.sh: removed $out"
  exit 0
fi

case "$extension" in
  "") ;;
  -gpu)
    NVCC="${NVCC:-nvcc}"
    if ! command -v "$NVCC" >/dev/null 2>&1; then
      echo "cppbuild.sh: -extension=-gpu needs the CUDA toolkit's nvcc ('$NVCC' is not on PATH;" \
        "set NVCC=/path/to/nvcc), or build the CPU flavour without -extension" >&2
      exit 2
    fi
    ;;
  *) echo "cppbuild.sh: unknown extension '$extension' (expected none or -gpu)" >&2; exit 2 ;;
esac

case "$platform" in
  linux-x86_64) arch_flags=(-m64 -march=x86-64 -mtune=generic) ;;
  linux-arm64) arch_flags=() ;;
  *) echo "cppbuild.sh: platform '$platform' is not supported yet (linux-x86_64, linux-arm64)" >&2; exit 2 ;;
esac

CXX="${CXX:-g++}"
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "cppbuild.sh: no C++ compiler ($CXX); build with -Djavacpp.skip=true to use the composite kernels" >&2
  exit 2
fi

lib="$out/lib/libvlmr1kernels.a"
mkdir -p "$out/include" "$out/lib" "$out/obj"
cp "$src/vlmr1_kernels.h" "$out/include/"

# Rebuild only when a source, a header or this script is newer than the library (cuda/ has its own check below).
if [[ -f "$lib" ]] && [[ -z "$(find "$src" "$0" -path "$src/cuda" -prune -o -newer "$lib" -print -quit)" ]]; then
  echo "cppbuild.sh: $lib is up to date"
else
  flags=(-std=c++17 -O3 -fPIC -fopenmp -fno-math-errno -Wall -Wextra -Wno-psabi "${arch_flags[@]}" -I"$src")
  read -r -a extra <<< "${CXXFLAGS:-}"
  objs=()
  for cpp in "$src"/*.cpp; do
    obj="$out/obj/$(basename "${cpp%.cpp}").o"
    echo "cppbuild.sh: $CXX ${flags[*]} ${extra[*]:-} -c $(basename "$cpp")"
    "$CXX" "${flags[@]}" "${extra[@]}" -c "$cpp" -o "$obj"
    objs+=("$obj")
  done
  rm -f "$lib"
  ar rcs "$lib" "${objs[@]}"
  echo "cppbuild.sh: built $lib"
fi
[[ "$extension" == -gpu ]] || exit 0

# The CUDA twins (-extension=-gpu). Whole-program device code per file (no -rdc), so the objects link as plain host
# objects: into a static archive for JavaCPP's link, and into a shared library with the CUDA runtime inside for ctypes.
cuda_src="$src/cuda"
cuda_lib="$out/lib/libvlmr1kernels_cuda.a"
cuda_so="$out/lib/libvlmr1cuda.so"
mkdir -p "$out/obj/cuda"
cp "$cuda_src/vlmr1_cuda.h" "$out/include/"
# Rebuild when a CUDA source or this script is newer than a library, or the architectures / flags changed (stamp).
stamp="$out/obj/cuda/build.stamp"
config="CUDA_ARCHS=${CUDA_ARCHS:-80 90} NVCCFLAGS=${NVCCFLAGS:-} NVCC=$NVCC"
cuda_stale() { find "$cuda_src" "$0" \( -newer "$cuda_lib" -o -newer "$cuda_so" \) -print -quit; }
if [[ -f "$cuda_lib" && -f "$cuda_so" && -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$config" ]] &&
  [[ -z "$(cuda_stale)" ]]; then
  echo "cppbuild.sh: $cuda_lib and $cuda_so are up to date"
  exit 0
fi
read -r -a archs <<< "${CUDA_ARCHS:-80 90}"
if [[ ${#archs[@]} -eq 0 ]]; then
  echo "cppbuild.sh: CUDA_ARCHS is empty (expected compute capabilities such as '80 90')" >&2
  exit 2
fi
gencode=()
for a in "${archs[@]}"; do
  if [[ ! "$a" =~ ^[0-9]+[a-z]?$ ]]; then
    echo "cppbuild.sh: bad CUDA_ARCHS entry '$a' (expected compute capabilities such as '80 90')" >&2
    exit 2
  fi
  gencode+=(-gencode "arch=compute_$a,code=sm_$a")
done
# PTX of the last (by convention the newest) architecture lets the driver JIT the kernels for newer GPUs.
gencode+=(-gencode "arch=compute_${archs[-1]},code=compute_${archs[-1]}")
nvflags=(-std=c++17 -O3 -Xcompiler -fPIC -Xcompiler -Wall,-Wextra "${gencode[@]}" -I"$cuda_src")
read -r -a nvextra <<< "${NVCCFLAGS:-}"
cuda_objs=()
for cu in "$cuda_src"/*.cu; do
  obj="$out/obj/cuda/$(basename "${cu%.cu}").o"
  echo "cppbuild.sh: $NVCC ${nvflags[*]} ${nvextra[*]:-} -c $(basename "$cu")"
  "$NVCC" "${nvflags[@]}" "${nvextra[@]}" -c "$cu" -o "$obj"
  cuda_objs+=("$obj")
done
rm -f "$cuda_lib" "$cuda_so"
ar rcs "$cuda_lib" "${cuda_objs[@]}"
echo "cppbuild.sh: built $cuda_lib"
"$NVCC" -shared -cudart static "${gencode[@]}" -o "$cuda_so" "${cuda_objs[@]}"
echo "$config" > "$stamp"
echo "cppbuild.sh: built $cuda_so"
