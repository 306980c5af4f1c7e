"""Run several train.py configurations side by side (for tuning difficulty/steps on a fast machine) and print each
one's validation accuracy. Configurations are given as JSON: a list of {"name": ..., "args": [...]}.

    python3 tools/demo-trainer/scan.py --configs scan.json --parallel 8 --device cuda --workdir /tmp/scan
Results from a GPU differ numerically from the CPU run that makes the committed model, so use them to choose
settings, then train on CPU with train.py.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))


def run_one(cfg: dict, device: str, workdir: str) -> dict:
    out = os.path.join(workdir, cfg["name"])
    cmd = [sys.executable, os.path.join(HERE, "train.py"), "--out", out, "--device", device, "--threads", "1",
           "--log-every", "100000"] + [str(a) for a in cfg["args"]]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result = {"name": cfg["name"], "args": cfg["args"], "rc": proc.returncode}
    if lines:
        result.update(json.loads(lines[-1]))
        result.pop("model_sha256", None)
    else:
        result["stderr"] = proc.stderr[-800:]
    print(json.dumps(result), flush=True)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", required=True)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workdir", default="/tmp/demo-scan")
    args = ap.parse_args()
    with open(args.configs, encoding="utf-8") as f:
        configs = json.load(f)
    os.makedirs(args.workdir, exist_ok=True)
    with ThreadPoolExecutor(args.parallel) as pool:
        list(pool.map(lambda c: run_one(c, args.device, args.workdir), configs))


if __name__ == "__main__":
    main()
