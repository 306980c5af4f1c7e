#!/usr/bin/env bash
# The project's test command: installs what the tests need (npm oracles; PyTorch where apt is usable),
# builds, runs every NUnit test and prints a final "N passed, N failed[, N skipped]" line.
# Usage: tools/test.sh [extra `dotnet test` arguments, e.g. --filter "TestCategory!=Performance"]
set -uo pipefail
cd "$(dirname "$0")/.."

log() { echo "[test.sh] $*" >&2; }

# Debian packages some tests need, installed with apt-get when run as root (one `apt-get update` for all of them).
# install_missing DESCRIPTION WITHOUT APT_ARGS...: WITHOUT says what happens to the tests when it cannot be installed.
apt_updated=
install_missing() {
  local what="$1" without="$2"; shift 2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing $what with apt-get"
    { { [ -n "$apt_updated" ] || { apt-get update -qq && apt_updated=1; }; } \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >/dev/null 2>&1 \
      || log "apt-get could not install $what; $without"
  else
    log "$what is not installed and apt-get needs root; $without"
  fi
}

# PyTorch (Debian's python3-torch) runs the demo trainer's forward for the ONNX parity test.
/usr/bin/python3 -c "import torch" >/dev/null 2>&1 \
  || install_missing python3-torch "the PyTorch parity test will be skipped" python3-torch libopenblas0-pthread

# bubblewrap (Debian's bubblewrap) isolates model-written code in the code-scoring sandbox; without it the
# sandbox refuses to run code and its tests fail.
command -v bwrap >/dev/null 2>&1 || install_missing bubblewrap "the code sandbox tests will fail" bubblewrap

# kubectl (Debian's kubernetes-client, an 8 MB download) checks the Kubernetes manifests offline
# (KubectlDryRunTests); without it that test is ignored.
command -v kubectl >/dev/null 2>&1 \
  || install_missing "kubernetes-client (kubectl)" "the kubectl manifest check will be ignored" --no-install-recommends kubernetes-client

# Independent JavaScript oracles from npm (pinned by package-lock.json, integrity-checked by npm ci).
for setup in tools/*/setup.sh; do
  [ -x "$setup" ] && { log "running $setup"; "$setup" >&2 || { log "$setup failed"; exit 1; }; }
done

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
dotnet test AdaRas.sln -c Release --logger "trx;LogFileName=results.trx" --results-directory "$results" "$@" 2>&1 | tee "$results/console.log"
status=${PIPESTATUS[0]}

# Sum the counters of every TRX file (one per test assembly).
read -r passed failed skipped < <(python3 - "$results" <<'PY'
import sys, glob, xml.etree.ElementTree as ET
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    root = ET.parse(path).getroot()
    c = root.find(".//{*}Counters")
    if c is None: continue
    p += int(c.get("passed", 0)); f += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    # Skipped tests (Assert.Ignore, e.g. the CUDA ones without a GPU) are not in the counters: count their results.
    s += sum(1 for r in root.iter() if r.tag.endswith("UnitTestResult") and r.get("outcome") in ("NotExecuted", "Inconclusive"))
print(p, f, s)
PY
)
if [ "${passed:-0}" = 0 ] && [ "${failed:-0}" = 0 ] && [ "$status" != 0 ]; then failed=1; fi
line="$passed passed, $failed failed"
[ "${skipped:-0}" != 0 ] && line="$line, $skipped skipped"
echo "$line"
[ "$status" = 0 ] && [ "${failed:-0}" = 0 ]
