#!/usr/bin/env bash
# Whether JavaCPP's JNI library for PyTorch (libjnitorch.so of org.bytedeco:pytorch) could load against another
# PyTorch build's libraries: counts the libtorch / c10 symbols it imports that those libraries do not export.
# Issue 17's carry-the-JVM question is decided with it on the dev machine, from the symbol lists that
# `DUMP_TORCH_SYMBOLS=1 src/test/cuda/check.sh` writes on the GPU machine (no device time of its own):
#   src/test/cuda/jni_symbols.sh ~/.m2/repository/org/bytedeco/pytorch/2.10.0-1.5.13/pytorch-2.10.0-1.5.13-linux-x86_64.jar \
#     $OUT/torch-symbols
# The second argument may also be a directory of .so files (e.g. /usr/lib/x86_64-linux-gnu for Debian's torch).
# Prints the counts and the first missing symbols (demangled); exit 0 when none is missing, 1 otherwise.
set -euo pipefail
JAR_OR_SO="$1"
TARGET="$2"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if [[ "$JAR_OR_SO" == *.jar ]]; then
  unzip -q -o "$JAR_OR_SO" '*/libjnitorch.so' -d "$WORK"
  JNI="$(find "$WORK" -name libjnitorch.so | head -1)"
else
  JNI="$JAR_OR_SO"
fi
echo "JNI library: $JNI ($(stat -c %s "$JNI") bytes); needs: $(readelf -d "$JNI" | grep NEEDED | grep -o '\[.*\]' \
  | tr -d '[]' | tr '\n' ' ')"
echo "highest glibc version it needs: $(readelf -V "$JNI" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)"
# The imported symbols whose demangled names mention c10::, at:: or torch:: (functions, vtables, typeinfo).
nm -D --undefined-only "$JNI" | awk '$1 == "U" {print $2}' | sort -u >"$WORK/undefined.txt"  # weak ones may be absent
c++filt <"$WORK/undefined.txt" | paste -d '\t' "$WORK/undefined.txt" - \
  | awk -F '\t' '$2 ~ /(^|[^A-Za-z0-9_])(c10|at|torch)::/ {print $1}' | sort -u >"$WORK/needed.txt"
if [ -d "$TARGET" ] && ls "$TARGET"/*.txt.gz >/dev/null 2>&1; then
  zcat "$TARGET"/*.txt.gz | sort -u >"$WORK/have.txt"
else
  for so in libtorch_cpu.so libc10.so libtorch_cuda.so libc10_cuda.so libtorch.so; do
    for f in "$TARGET/$so"*; do
      [ -f "$f" ] && nm -D --defined-only "$f" | awk '{print $3}'
    done
  done | sort -u >"$WORK/have.txt"
fi
comm -23 "$WORK/needed.txt" "$WORK/have.txt" >"$WORK/missing.txt"
echo "libtorch/c10 symbols imported: $(wc -l <"$WORK/needed.txt"); exported by the target: $(wc -l <"$WORK/have.txt");" \
  "missing: $(wc -l <"$WORK/missing.txt")"
head -10 "$WORK/missing.txt" | c++filt | sed 's/^/  missing: /'
[ ! -s "$WORK/missing.txt" ]
