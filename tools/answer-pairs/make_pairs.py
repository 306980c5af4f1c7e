#!/usr/bin/env python3
"""Builds data/answer-pairs/pairs.jsonl: the math checker's answer-pair suite.

Generated pairs come from the shipped benchmark answers (MATH-500, AIME, AMC, the first 150 GSM8K): each reference
answer against spellings a careful grader accepts ("reformatting"), and against values a careful grader rejects
("near-miss"). Hand-written pairs (hand.jsonl beside this script) add the forms the checker must read ("readable"),
answers equal only after algebra ("algebra") and more near-misses. Every line:
{"category", "predicted", "reference", "equal", "source"}. Run from the repository root:
    python3 tools/answer-pairs/make_pairs.py
Deterministic: the same benchmark files give the same suite.
"""
import glob
import json
import os
import re

ROOT = os.getcwd()
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "data", "answer-pairs", "pairs.jsonl")


def benchmark(name_glob, limit=None):
    files = sorted(glob.glob(os.path.join(ROOT, "**", "benchmarks", "**", name_glob), recursive=True))
    if not files:
        raise SystemExit(f"no benchmark file {name_glob} under {ROOT}")
    rows = [json.loads(l) for l in open(files[0], encoding="utf-8") if l.strip()]
    return [(str(r["id"]), str(r["answer"])) for r in rows[:limit]]


INT = re.compile(r"^-?\d+$")
FRAC = re.compile(r"^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$")
SQRT = re.compile(r"^(\d*)\\sqrt\{?(\d+)\}?$")
TUPLE = re.compile(r"^\\left\(\s*(.+?)\s*\\right\)$|^\((.+)\)$")


def reformattings(gold, source):
    """Spellings of the same value that a careful grader accepts."""
    out = []
    if INT.match(gold):
        n = int(gold)
        out.append(f"{n}.0")
        out.append(f"x = {n}")
        if abs(n) >= 1000:
            out.append(f"{n:,}")
            out.append(f"{n:,}".replace(",", "{,}"))
        if source == "gsm8k":
            out.append(f"\\${n}")
            out.append(f"{n} \\text{{ dollars}}")
            out.append(f"\\text{{{n} dollars}}")
        else:
            out.append(f"{n}^\\circ" if n > 0 and n < 360 and source == "aime" else f"{n:d}")
            out.append(f"\\text{{Total}} = {n}" if source == "aime" else f"{n}e0" if n != 0 else "0.0")
        return [o for o in out if o != gold]
    m = FRAC.match(gold)
    if m:
        sign, a, b = m.group(1), int(m.group(2)), int(m.group(3))
        out.append(f"{sign}{a}/{b}")
        out.append(f"{sign}\\dfrac{{{a}}}{{{b}}}")
        out.append(f"{sign}\\frac{{{2 * a}}}{{{2 * b}}}")
        return out
    if gold.replace(" ", "") != gold:
        out.append(gold.replace(" ", ""))
    if "\\frac" in gold:
        out.append(gold.replace("\\frac", "\\dfrac"))
    t = TUPLE.match(gold)
    if t and "\\left" not in gold:
        out.append("\\left( " + (t.group(1) or t.group(2)) + " \\right)")
    if not out:
        out.append(f" {gold} ")
    return out


def near_misses(gold):
    """Values that differ: a careful grader rejects every one."""
    out = []
    if INT.match(gold):
        n = int(gold)
        out.append(str(n + 1))
        if n != 0:
            out.append(str(-n))
        if abs(n) >= 10:
            digits = str(abs(n))
            if digits[::-1].lstrip("0") != digits:
                out.append(("-" if n < 0 else "") + digits[::-1].lstrip("0"))
            out.append(("-" if n < 0 else "") + " ".join(digits))  # "7 5" for 75: not one number
            out.append(f"{n} \\text{{ or more}}")
            out.append(f"{n} \\text{{ million}}")
        return out
    m = FRAC.match(gold)
    if m:
        sign, a, b = m.group(1), int(m.group(2)), int(m.group(3))
        if a != b:
            out.append(f"{sign}\\frac{{{b}}}{{{a}}}")
        out.append(f"{sign}\\frac{{{a}}}{{{b + 1}}}")
        out.append(("" if sign else "-") + f"\\frac{{{a}}}{{{b}}}")
        return out
    s = SQRT.match(gold)
    if s:
        k = int(s.group(2))
        out.append(f"{s.group(1)}\\sqrt{{{k + 1}}}")
        out.append(f"{s.group(1) or ''}{k}")
        return out
    t = TUPLE.match(gold)
    if t:
        items = [i.strip() for i in (t.group(1) or t.group(2)).split(",")]
        if len(items) == 2 and items[0] != items[1] and "(" not in gold[1:-1]:
            out.append(f"({items[1]}, {items[0]})")
            out.append(f"[{items[0]}, {items[1]}]")
    return out


def main():
    pairs = []
    sets = [("math500", benchmark("Math500_test.jsonl")), ("aime", benchmark("AIME_test.jsonl")),
            ("amc", benchmark("AMC_test.jsonl")), ("gsm8k", benchmark("gsm8k_test.jsonl", 150))]
    for source, rows in sets:
        for sid, gold in rows:
            for p in reformattings(gold, source):
                pairs.append({"category": "reformatting", "predicted": p, "reference": gold, "equal": True, "source": f"{source}:{sid}"})
            for p in near_misses(gold):
                pairs.append({"category": "near-miss", "predicted": p, "reference": gold, "equal": False, "source": f"{source}:{sid}"})
    for line in open(os.path.join(HERE, "hand.jsonl"), encoding="utf-8"):
        if line.strip() and not line.startswith("//"):
            row = json.loads(line)
            row.setdefault("source", "hand")
            pairs.append(row)
    seen, unique = set(), []
    for p in pairs:
        key = (p["predicted"], p["reference"])
        if key not in seen:
            seen.add(key)
            unique.append(p)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        for p in unique:
            f.write(json.dumps({k: p[k] for k in ("category", "predicted", "reference", "equal", "source")}, ensure_ascii=False) + "\n")
    counts = {}
    for p in unique:
        counts[p["category"]] = counts.get(p["category"], 0) + 1
    print(f"wrote {len(unique)} pairs to {os.path.relpath(OUT, ROOT)}: {counts}")


if __name__ == "__main__":
    main()
