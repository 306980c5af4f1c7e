#!/usr/bin/env bash
# On the GPU machine: moves the parts this call carried (under .device/) to /tmp/adaras-cuda, which a warm machine
# keeps between calls, and says what has arrived so far. tools/cuda/run-all.sh calls it first.
set -euo pipefail
cd "$(dirname "$0")/../.."
store=${ADARAS_CUDA_STORE:-/tmp/adaras-cuda}
mkdir -p "$store"
shopt -s nullglob
for f in .device/bundle.tar.xz.part-* .device/SHA256SUMS .device/SHA256SUMS.unpacked; do
  cp -f "$f" "$store/"
done
echo "[receive] $store holds: $(cd "$store" && ls | tr '\n' ' ')"
