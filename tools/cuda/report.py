#!/usr/bin/env python3
"""Joins the JSON files of tools/cuda/run-all.sh into report.md (stdout): greedy agreement, the engine's speed
rows and ratios, the transformers baseline, the side-by-side ratios the CUDA issue asks for, and device memory.
Usage: report.py REPORT_DIR WORK_DIR"""
import json, os, sys

report, work = sys.argv[1], sys.argv[2]


def load(name):
    path = os.path.join(report, name)
    return json.load(open(path)) if os.path.exists(path) else None


def peak_mib(name):
    path = os.path.join(work, name)
    if not os.path.exists(path):
        return None
    values = [int(v) for v in open(path).read().split() if v.strip().isdigit()]
    return max(values) if values else None


print("# AdaRas on CUDA: parity and speed\n")
smi = os.path.join(work, "nvidia-smi.txt")
if os.path.exists(smi):
    print("```\n" + open(smi).read().strip() + "\n```\n")
else:
    print("No nvidia-smi: a rehearsal without a GPU.\n")

greedy = load("greedy-agreement.json")
if greedy:
    print("## Greedy decoding, embedded model, held-out set (CPU fp32 vs CUDA fp16)\n")
    print(f"{greedy['identical']}/{greedy['questions']} identical token sequences; accuracy CPU fp32 "
          f"{greedy['cpu_fp32_correct']}, CUDA fp16 {greedy['cuda_fp16_correct']}.\n")

engine, hf = load("engine-speed.json"), load("hf.json")
rows = (engine or {}).get("rows", []) + (hf or {}).get("rows", [])
if rows:
    print("## Decode speed, batch 1\n")
    if engine:
        print(f"{engine['shape']}; prompt {engine['prompt_tokens']}, {engine['new_tokens']} new tokens, "
              f"median of {engine['rounds']} interleaved rounds. Kernels: {engine['kernel_device']}.\n")
    print("| configuration | prefill tok/s | decode tok/s | decode runs |")
    print("|---|---:|---:|---|")
    for r in rows:
        spread = ", ".join(f"{v:.1f}" for v in r["decode_spread"])
        print(f"| {r['configuration']} | {r['prefill_tokens_per_s']:.1f} | {r['decode_tokens_per_s']:.1f} | {spread} |")
    print()
if engine:
    print(f"- steerable / plain decode: **{engine['steerable_over_plain']:.3f}** (goal >= 0.99)")
    print(f"- steering on / off decode: **{engine['steering_on_over_off']:.3f}** (goal >= 0.99)")
if engine and hf:
    e_off = engine["rows"][0]["decode_tokens_per_s"]
    h_off = hf["rows"][0]["decode_tokens_per_s"]
    print(f"- engine / transformers decode (no steering): **{e_off / h_off:.2f}x** (goal >= 3x)")
    e_cost = 1 - engine["steering_on_over_off"]
    h_cost = 1 - hf["hook_over_no_hook"]
    print(f"- steering cost: engine {100 * e_cost:.2f}% of decode speed, paper hook {100 * h_cost:.2f}% "
          f"(goal: engine's an order of magnitude below)")
if hf:
    print(f"- the paper hook changes the last logits by up to {hf['hook_max_logit_change']:.3g} (control: it is live)")
print()
mem_e, mem_h = peak_mib("mem-engine.txt"), peak_mib("mem-hf.txt")
if engine or hf or mem_e or mem_h:
    print("## Device memory\n")
    if engine:
        print(f"- engine: {engine['engine_device_bytes'] / 2**30:.2f} GiB taken by the steerable model, its session, "
              "KV cache and steering buffers (free memory before load minus after the first generation)")
    if hf and "peak_reserved_bytes" in hf:
        print(f"- transformers: peak allocated {hf['peak_allocated_bytes'] / 2**30:.2f} GiB, "
              f"reserved {hf['peak_reserved_bytes'] / 2**30:.2f} GiB")
    if mem_e is not None:
        print(f"- nvidia-smi peak while the engine ran (steerable and plain models both loaded): {mem_e} MiB")
    if mem_h is not None:
        print(f"- nvidia-smi peak while transformers ran: {mem_h} MiB")
