"""Greedy accuracy of the demo model on a question file, question by question, and the right/wrong mix of
sampled trajectories.

    /usr/bin/python3 tools/demo-trainer/evaluate.py --model models/adaras-demo --split test \
        --results models/adaras-demo/greedy_results.jsonl
    /usr/bin/python3 tools/demo-trainer/evaluate.py --model models/adaras-demo --split test --samples 8 \
        --temperature 0.8 --results /tmp/sampled.jsonl

Greedy: each question alone (batch 1, KV cache), prompt = Qwen3 chat template with thinking on, argmax until
<|im_end|> or <|endoftext|> or --max-new-tokens; answer = last \\boxed{} after </think>. This is the computation the
C# engine repeats, so its per-question answers and output ids can be compared exactly.
Prints one JSON document: {"accuracy", "n", "correct", "by_kind", "results": [...]}; --results also writes the
per-question rows as JSONL: {id, question, answer, predicted, correct, output_ids, completion}.
With --samples N: N sampled trajectories per question at --temperature (seeded); reports per question how many
were right, and how many questions got both right and wrong trajectories.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import task  # noqa: E402
from bpe import Tokenizer  # noqa: E402
from generate import generate_batch, greedy  # noqa: E402
from qwen3 import load_model  # noqa: E402


def read_questions(path: str) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not valid JSON ({e})")
            for key in ("id", "question", "answer"):
                if key not in row:
                    raise SystemExit(f"{path}:{n}: missing field '{key}'")
            rows.append(row)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--split", default="test", help="question file in the model folder: <split>.jsonl")
    ap.add_argument("--questions", help="question JSONL (overrides --split)")
    ap.add_argument("--limit", type=int, default=0, help="first N questions only")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--samples", type=int, default=0, help="sampled trajectories per question (0: greedy)")
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--results", help="write per-question rows here (JSONL)")
    ap.add_argument("--quiet", action="store_true", help="print the summary without the per-question rows")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    model = load_model(args.model)
    tok = Tokenizer.from_tokenizer_json(os.path.join(args.model, "tokenizer.json"))
    stop = {tok.token_id("<|im_end|>"), tok.token_id("<|endoftext|>")}
    pad = tok.token_id("<|endoftext|>")
    questions = read_questions(args.questions or os.path.join(args.model, f"{args.split}.jsonl"))
    if args.limit:
        questions = questions[:args.limit]

    t0 = time.time()
    results = []
    if args.samples == 0:
        for q in questions:
            out = greedy(model, tok.encode(task.prompt_text(q["question"])), stop, args.max_new_tokens)
            completion = tok.decode(out)
            results.append({"id": q["id"], "question": q["question"], "answer": q["answer"],
                            "kind": q.get("kind"), "predicted": task.extract_answer(completion),
                            "correct": task.is_correct(completion, q["answer"]), "output_ids": out,
                            "completion": completion})
    else:
        gen = torch.Generator().manual_seed(args.seed)
        for q in questions:
            prompt = tok.encode(task.prompt_text(q["question"]))
            outs = generate_batch(model, [prompt] * args.samples, stop, pad, args.max_new_tokens,
                                  temperature=args.temperature, generator=gen)
            completions = [tok.decode(o) for o in outs]
            verdicts = [task.is_correct(c, q["answer"]) for c in completions]
            results.append({"id": q["id"], "question": q["question"], "answer": q["answer"],
                            "kind": q.get("kind"), "num_correct": sum(verdicts), "num_samples": args.samples,
                            "correct": verdicts, "predicted": [task.extract_answer(c) for c in completions],
                            "completions": completions})
    seconds = time.time() - t0

    by_kind: dict[str, list[float]] = {}
    if args.samples == 0:
        for r in results:
            by_kind.setdefault(r["kind"] or "all", []).append(float(r["correct"]))
        n_correct = sum(r["correct"] for r in results)
        summary = {"mode": "greedy", "n": len(results), "correct": n_correct,
                   "accuracy": n_correct / max(1, len(results))}
    else:
        for r in results:
            by_kind.setdefault(r["kind"] or "all", []).append(r["num_correct"] / r["num_samples"])
        total = sum(r["num_correct"] for r in results)
        summary = {"mode": "sampled", "temperature": args.temperature, "samples_per_question": args.samples,
                   "n": len(results), "trajectories": len(results) * args.samples, "correct": total,
                   "accuracy": total / max(1, len(results) * args.samples),
                   "questions_all_right": sum(r["num_correct"] == r["num_samples"] for r in results),
                   "questions_all_wrong": sum(r["num_correct"] == 0 for r in results),
                   "questions_mixed": sum(0 < r["num_correct"] < r["num_samples"] for r in results)}
    summary["by_kind"] = {k: sum(v) / len(v) for k, v in sorted(by_kind.items())}
    summary["seconds"] = round(seconds, 1)
    if args.results:
        tmp = args.results + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        os.replace(tmp, args.results)
    if not args.quiet:
        summary["results"] = results
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
