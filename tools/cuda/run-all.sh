#!/usr/bin/env bash
# On the GPU machine, in one call: receive the last parts, check and unpack everything tools/cuda/pack.sh made,
# run the Cuda-category NUnit tests, the engine's speed measurement (Qwen3-1.7B shape, CudaSpeed category) and the
# transformers baseline on the same checkpoint, and write report.md (+ logs and JSON) under $OUT.
# Without a GPU (ADARAS_CUDA_REHEARSAL=1) the same steps run on the CPU: the CUDA tests skip with their reason and
# the baseline runs tools/demo-trainer's torch model on the embedded checkpoint, which checks the script itself.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
out=${OUT:?OUT must name the folder for the report}
store=${ADARAS_CUDA_STORE:-/tmp/adaras-cuda}
work=${ADARAS_CUDA_WORK:-/tmp/adaras-work}
rehearsal=${ADARAS_CUDA_REHEARSAL:-0}
python=${ADARAS_PYTHON:-python3}
mkdir -p "$out/report" "$work"
log() { echo "[run-all $(date +%T)] $*" | tee -a "$out/run-all.log" >&2; }

bash tools/cuda/receive.sh
# 1. Check every part, join and unpack (xz when present, else Python's lzma).
(cd "$store" && sha256sum -c SHA256SUMS) >>"$out/run-all.log" 2>&1 \
  || { log "a part is corrupt or missing: make every call of .device/carry-plan.txt, back to back"; exit 2; }
unxz() { if command -v xz >/dev/null; then xz -dc; else "$python" -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)'; fi; }
rm -rf .device/tests
cat "$store"/bundle.tar.xz.part-* | unxz | tar -xf - -C .device || { log "the bundle does not unpack"; exit 2; }
(cd .device/tests && sha256sum -c "$store/SHA256SUMS.unpacked") >>"$out/run-all.log" 2>&1 \
  || { log "the unpacked files do not match their checksums"; exit 2; }
log "unpacked $(du -sh .device/tests | cut -f1) of tests"

# 2. CUDA 13 user-space libraries from the Python environment's nvidia-* wheels (cuBLAS, cudart, cuRAND, cuDNN).
nvlibs=$("$python" - <<'PY' 2>/dev/null
import os, sys
try:
    import nvidia
except ImportError:
    sys.exit()
dirs = set()
for base in nvidia.__path__:
    for root, _, files in os.walk(base):
        if any(".so" in f for f in files):
            dirs.add(root)
print(":".join(sorted(dirs)))
PY
)
export LD_LIBRARY_PATH="${nvlibs:+$nvlibs:}.device/tests:${LD_LIBRARY_PATH:-}"
command -v nvidia-smi >/dev/null && nvidia-smi >"$work/nvidia-smi.txt" 2>&1

export ADARAS_CUDA_REPORT="$out/report" ADARAS_CUDA_WORK="$work"
run_tests() { # category, log file
  .device/tests/AdaRas.Tests --filter "TestCategory=$1" --no-progress 2>&1 | tee "$out/$2" | tail -5
  return "${PIPESTATUS[0]}"
}
sample_memory() { # file: device memory used (MiB), every 200 ms, until killed
  command -v nvidia-smi >/dev/null || { sleep infinity; return; }
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$1"
}

# 3. Parity tests (greedy agreement, steering, taps, RCN kernels).
log "Cuda tests"
run_tests Cuda cuda-tests.log; tests_rc=$?
# 4. The engine's speed measurement, then the transformers baseline on the checkpoint it made, each with the
#    device memory sampled from outside the process.
log "engine speed (Qwen3-1.7B shape)"
sample_memory "$work/mem-engine.txt" & sampler=$!
run_tests CudaSpeed cuda-speed.log; speed_rc=$?
kill $sampler 2>/dev/null
pattern=$(ls data/rcn/AIME_Qwen3-1.7B.csv 2>/dev/null | head -1)
if [ "$rehearsal" = 1 ]; then
  hf_args=(--model models/adaras-demo --impl demo --device cpu --dtype fp32 --prompt 64 --new 32 --rounds 2 --neurons 4)
  printf 'overall_neuron_index,layer,neuron_index_in_layer,weight,abs_weight\n3,0,3,1,1\n90,0,90,-1,1\n200,1,8,2,2\n500,2,116,-2,2\n' >"$work/rehearsal.csv"
  pattern="$work/rehearsal.csv"
else
  hf_args=(--model "$work/qwen3-1.7b")
fi
log "transformers baseline"
sample_memory "$work/mem-hf.txt" & sampler=$!
PYTHONUNBUFFERED=1 "$python" tools/cuda/hf_baseline.py "${hf_args[@]}" --pattern "$pattern" --out "$out/report/hf.json" >"$out/hf.log" 2>&1; hf_rc=$?
kill $sampler 2>/dev/null
"$python" tools/cuda/report.py "$out/report" "$work" >"$out/report.md"
log "tests rc $tests_rc, speed rc $speed_rc, baseline rc $hf_rc"
cat "$out/report.md"
[ $tests_rc = 0 ] && [ $speed_rc = 0 ] && [ $hf_rc = 0 ]
