#!/usr/bin/env bash
# Packs what the GPU machine needs into .device/ (ignored by git): the NUnit tests published as a self-contained
# linux-x64 executable of the CUDA build (no .NET there), ONNX Runtime's 284 MB CUDA provider library included,
# as one xz stream cut into parts small enough to travel one per device call. Writes .device/carry-plan.txt.
# Usage: tools/cuda/pack.sh   (ADARAS_CARRY_MIB: what one call may carry, default 64; ADARAS_XZ_LEVEL, default 9;
#                             ADARAS_PUBLISHED: reuse a folder published earlier instead of publishing again)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
out=.device
carry_mib=${ADARAS_CARRY_MIB:-64}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
log() { echo "[pack] $*" >&2; }

rm -rf "$out" && mkdir -p "$out"
if [ -n "${ADARAS_PUBLISHED:-}" ]; then
  # A folder published earlier by this script (the slow step), e.g. to repack with other part sizes.
  cp -r "$ADARAS_PUBLISHED" "$stage/tests"
else
  # Publish from a copy of the checkout (tracked and untracked-but-not-ignored files) so the checkout's own obj/
  # folders, restored for the CPU build, are left alone.
  log "copying the checkout"
  mkdir -p "$stage/repo"
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$stage/repo"
  log "publishing the tests (CUDA build, self-contained linux-x64; a few minutes)"
  dotnet publish "$stage/repo/tests/AdaRas.Tests" -c Release -r linux-x64 --self-contained \
    -p:AdaRasCuda=true -p:AdaRasTestExecutable=true -o "$stage/tests" >"$stage/publish.log" 2>&1 \
    || { tail -30 "$stage/publish.log" >&2; exit 1; }
fi
# The GPU package also drops its Windows native libraries into a linux-x64 publish (200 MB): not needed there.
rm -f "$stage/tests/onnxruntime.dll" "$stage/tests"/onnxruntime_providers_*.dll
[ -f "$stage/tests/libonnxruntime_providers_cuda.so" ] || { log "no libonnxruntime_providers_cuda.so in the publish output"; exit 1; }
(cd "$stage/tests" && sha256sum libonnxruntime_providers_cuda.so libonnxruntime.so AdaRas.Tests) >"$out/SHA256SUMS.unpacked"

# One xz stream of everything, cut into parts; each call carries the working tree too, so the parts get what is
# left of the limit, with a margin.
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
budget=$(( carry_mib * 1048576 - tree_bytes - 4 * 1048576 ))
[ "$budget" -gt 8388608 ] || { log "the working tree ($tree_bytes bytes) leaves no room to carry parts"; exit 1; }
log "compressing (xz -${ADARAS_XZ_LEVEL:-9}; the GPU machine unpacks with Python's lzma when it has no xz)"
tar -C "$stage" -cf - tests | xz -T0 -"${ADARAS_XZ_LEVEL:-9}" | split -b "$budget" -d -a 2 - "$out/bundle.tar.xz.part-"
(cd "$out" && sha256sum bundle.tar.xz.part-* >SHA256SUMS)

# The plan: files grouped greedily into calls that each stay under the budget; the last call also runs everything.
python3 - "$out" "$budget" "$tree_bytes" >"$out/carry-plan.txt" <<'PY'
import os, sys
out, budget, tree = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
files = sorted(f for f in os.listdir(out) if f.startswith("bundle.tar.xz.part-"))
calls, current, size = [], [], 0
for f in files:
    s = os.path.getsize(os.path.join(out, f))
    if current and size + s > budget:
        calls.append(current); current, size = [], 0
    current.append(f); size += s
calls.append(current)
print(f"# {len(calls)} device calls; working tree {tree / 2**20:.1f} MiB; up to {budget / 2**20:.1f} MiB of parts per call.")
print("# Make them back to back: a warm machine keeps /tmp/adaras-cuda between calls for 30 s only.")
for i, group in enumerate(calls, 1):
    carry = ", ".join(f".device/{f}" for f in group) + ", .device/SHA256SUMS, .device/SHA256SUMS.unpacked"
    command = "bash tools/cuda/run-all.sh" if i == len(calls) else "bash tools/cuda/receive.sh"
    print(f"call {i}: carry [{carry}]  command: {command}  timeout_s: {540 if i == len(calls) else 120}")
PY
log "done: $(du -sh "$out" | cut -f1) in $out"
cat "$out/carry-plan.txt"
