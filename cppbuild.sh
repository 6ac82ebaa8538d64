#!/usr/bin/env bash
# Builds the native kernels of src/main/native into cppbuild/<platform><extension>/{include,lib}, in the manner of
# javacpp-presets' cppbuild.sh. Maven calls it (generate-resources); the JavaCPP plugin then links the JNI glue of
# org.vlmr1.kernels.GrpoNative against cppbuild/<platform><extension>/lib/libvlmr1kernels.a.
#
#   bash cppbuild.sh [-platform=linux-x86_64] [-extension=] [install|clean]
#
# CPU: g++ -O3 -fopenmp for the x86-64 baseline; the hot row kernels carry target clones (AVX-512, AVX2+FMA, baseline)
# chosen at load time, so the library is fast on the build machine's class of CPU and safe on any x86-64.
# -extension=-gpu is reserved for the CUDA twins of a later issue. Environment: CXX (default g++), CXXFLAGS (appended).
set -euo pipefail

operation=install
platform=""
extension=""
for arg in "$@"; do
  case "$arg" in
    -platform=*) platform="${arg#-platform=}" ;;
    -extension=*) extension="${arg#-extension=}" ;;
    install|clean) operation="$arg" ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
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
  -gpu) echo "cppbuild.sh: -extension=-gpu (the CUDA twins of the kernels) is not built yet; build the CPU flavour" >&2; exit 2 ;;
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

# Rebuild only when a source, a header or this script is newer than the library.
if [[ -f "$lib" ]] && [[ -z "$(find "$src" "$0" -newer "$lib" -print -quit)" ]]; then
  echo "cppbuild.sh: $lib is up to date"
  exit 0
fi

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
