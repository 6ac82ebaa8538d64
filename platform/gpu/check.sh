#!/usr/bin/env bash
# The -gpu flavour as a user gets it, checked on any Linux x86-64 machine with nvcc and the CUDA 13.x toolkit (no
# GPU needed): builds and installs the root project's -gpu flavour, resolves platform/gpu from Maven Central (about
# 465 MB the first time), then runs doctor and a tiny init-tiny -> prepare -> generate with exactly that class path
# and checks what loaded. With an NVIDIA GPU it also generates with --device cuda. Not part of the test suite: it
# needs the network and the download. Usage: bash platform/gpu/check.sh   (WORK=DIR keeps its files in DIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
fail() { echo "check.sh: FAILED: $*" >&2; exit 1; }

echo "== mvn -Pgpu install (the -gpu natives jar beside the classes jar)"
mvn -B -Pgpu -DskipTests install > "$work/install.log" 2>&1 || { tail -40 "$work/install.log"; fail "mvn -Pgpu install"; }
echo "== platform/gpu resolves"
mvn -B -f platform/gpu/pom.xml install > "$work/platform.log" 2>&1 || { tail -40 "$work/platform.log"; fail "platform/gpu"; }
mvn -B -q -f platform/gpu/pom.xml dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" > /dev/null
cp=$(cat "$work/cp.txt")
grep -q "pytorch-[^:]*-linux-x86_64-gpu.jar" <<< "$cp" || fail "no pytorch linux-x86_64-gpu jar on the class path"
if tr ':' '\n' <<< "$cp" | grep -q "pytorch-[^:/]*-linux-x86_64.jar$"; then
  fail "pytorch's CPU natives are on the class path too (libtorch fails in its dispatcher with both)"
fi
run() { java -Dorg.bytedeco.javacpp.cachedir="$work/cache" -cp "$cp" org.vlmr1.cli.Main "$@"; }

echo "== doctor"
run doctor | tee "$work/doctor.txt"
grep -q "^libtorch_cpu .*-gpu/libtorch_cpu.so" "$work/doctor.txt" || fail "libtorch was not loaded from the -gpu jar"
grep -q "^libjniCudaNative .*-gpu/libjniCudaNative.so" "$work/doctor.txt" || fail "our -gpu natives did not load"
grep -q "^-gpu natives  loaded" "$work/doctor.txt" || fail "doctor does not report the -gpu natives"

echo "== a tiny model on the CPU through the -gpu build"
run init-tiny --out "$work/tiny" --hidden_size 32 --num_layers 1 --vision_depth 1 --overwrite > /dev/null
run prepare --model "$work/tiny" --text "hi" --out "$work/in.safetensors" > /dev/null
run generate --model "$work/tiny" --inputs "$work/in.safetensors" --out "$work/cpu.safetensors" --max_new_tokens 8 \
  --greedy --device cpu
if grep -q "^cuda devices  [1-9]" "$work/doctor.txt"; then
  echo "== the same on cuda:0"
  run generate --model "$work/tiny" --inputs "$work/in.safetensors" --out "$work/cuda.safetensors" \
    --max_new_tokens 8 --greedy --device cuda
else
  echo "== no CUDA device: --device cuda is refused with the reason"
  if run generate --model "$work/tiny" --inputs "$work/in.safetensors" --out "$work/cuda.safetensors" \
      --max_new_tokens 8 --device cuda 2> "$work/cuda.err"; then
    fail "--device cuda ran without a device"
  fi
  cat "$work/cuda.err"
fi
echo "check.sh: ok ($work)"
