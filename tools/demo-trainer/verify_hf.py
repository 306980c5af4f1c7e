"""Cross-check the demo folder against Hugging Face's own implementations (needs `transformers` and
`tokenizers`, which Debian does not ship; run it wherever they are installed):

  * Qwen3ForCausalLM (eager attention, float32) loads the folder and gives the same logits as qwen3.py;
  * HF greedy `generate` gives the same tokens as generate.greedy;
  * `tokenizers` encodes every question, prompt and completion (plus awkward strings) to the same ids as bpe.py;
  * the chat template in tokenizer_config.json renders exactly task.prompt_text / the training text.

    python3 tools/demo-trainer/verify_hf.py --model models/adaras-demo [--limit 50]
Prints one JSON summary; exits 1 on any mismatch.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import task  # noqa: E402
from bpe import Tokenizer  # noqa: E402
from generate import greedy  # noqa: E402
from qwen3 import load_model  # noqa: E402

AWKWARD = ["Hello world's 123  \n\n  x", "I'LL be there, you've seen it!!\r\n\tTabs\t\t and  spaces   ",
           "naïve café — 東京 12345 ½ \u00e9\u0301", "<think>\n1+1=2\n</think>\n\n\\boxed{2}<|im_end|>",
           "a  \n b\n\n\n", "   leading", "trailing   ", "x=-5, y=+7; z*=3 {}()[]", "'s'S'Re 've"]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--limit", type=int, default=40, help="questions to generate with both implementations")
    args = ap.parse_args(argv)
    from tokenizers import Tokenizer as HfTokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    failures: list[str] = []
    ours = load_model(args.model)
    tok = Tokenizer.from_tokenizer_json(os.path.join(args.model, "tokenizer.json"))
    hf_tok = HfTokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    auto_tok = AutoTokenizer.from_pretrained(args.model)
    try:
        hf = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager")
    except TypeError:  # transformers < 4.56 names it torch_dtype
        hf = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32,
                                                  attn_implementation="eager")
    hf.eval()
    questions = []
    for split in ("test", "validation", "train"):
        with open(os.path.join(args.model, f"{split}.jsonl"), encoding="utf-8") as f:
            questions += [json.loads(line) for line in f]

    # tokenizer and chat template
    n_texts = 0
    for q in questions:
        prompt = task.prompt_text(q["question"])
        rendered = auto_tok.apply_chat_template([{"role": "user", "content": task.user_message(q["question"])}],
                                                tokenize=False, add_generation_prompt=True, enable_thinking=True)
        if rendered != prompt:
            failures.append(f"chat template differs for {q['id']}: {rendered!r} vs {prompt!r}")
        completion = task.completion_text("1+2=3", q["answer"])
        full = auto_tok.apply_chat_template(
            [{"role": "user", "content": task.user_message(q["question"])},
             {"role": "assistant", "content": completion[:-len("<|im_end|>")]}], tokenize=False)
        if full != prompt + completion + "\n":
            failures.append(f"chat template (full turn) differs for {q['id']}: {full!r}")
        for text in (q["question"], prompt, prompt + completion):
            n_texts += 1
            a, b = tok.encode(text), hf_tok.encode(text, add_special_tokens=False).ids
            if a != b:
                failures.append(f"tokenization differs for {text!r}: {a} vs {b}")
    for text in AWKWARD:
        try:
            a = tok.encode(text)
        except ValueError as e:  # only when the regex module is missing and the text is not ASCII
            a = str(e)
        b = hf_tok.encode(text, add_special_tokens=False).ids
        n_texts += 1
        if a != b:
            failures.append(f"tokenization differs for {text!r}: {a} vs {b}")
        if hf_tok.decode(b, skip_special_tokens=False) != tok.decode(b):
            failures.append(f"decoding differs for {text!r}")

    # logits
    max_diff, max_rel = 0.0, 0.0
    for q in questions[:args.limit]:
        ids = tok.encode(task.prompt_text(q["question"]) + task.completion_text("12+34=46", q["answer"]))
        with torch.no_grad():
            a = ours(torch.tensor([ids]))[0]
            b = hf(torch.tensor([ids])).logits[0]
        max_diff = max(max_diff, float((a - b).abs().max()))
        max_rel = max(max_rel, float(((a - b).abs() / b.abs().clamp(min=1e-3)).max()))
    if max_diff > 1e-4:
        failures.append(f"logits differ from transformers' Qwen3ForCausalLM by up to {max_diff}")

    # greedy generation: HF generate vs ours here vs the recorded greedy_results.jsonl (made with torch 1.13)
    stop = [tok.token_id("<|im_end|>"), tok.token_id("<|endoftext|>")]
    recorded = {}
    recorded_path = os.path.join(args.model, "greedy_results.jsonl")
    if os.path.exists(recorded_path):
        with open(recorded_path, encoding="utf-8") as f:
            recorded = {r["id"]: r["output_ids"] for r in map(json.loads, f)}
    gen_mismatch, rec_mismatch, rec_compared = 0, 0, 0
    for q in questions[:args.limit]:
        prompt = tok.encode(task.prompt_text(q["question"]))
        mine = greedy(ours, prompt, set(stop), 256)
        with torch.no_grad():
            out = hf.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=256, eos_token_id=stop,
                              pad_token_id=stop[1])[0, len(prompt):].tolist()
        if out != mine:
            gen_mismatch += 1
            failures.append(f"greedy output differs for {q['id']}: {mine} vs {out}")
        if q["id"] in recorded:
            rec_compared += 1
            if recorded[q["id"]] != out:
                rec_mismatch += 1
                failures.append(f"HF greedy differs from greedy_results.jsonl for {q['id']}")
    summary = {"texts_tokenized": n_texts, "questions": len(questions), "logit_max_abs_diff": max_diff,
               "logit_max_rel_diff": max_rel, "greedy_compared": min(args.limit, len(questions)),
               "greedy_mismatches": gen_mismatch,
               "recorded_compared": rec_compared, "recorded_mismatches": rec_mismatch, "failures": failures[:20], "num_failures": len(failures),
               "transformers": __import__("transformers").__version__, "torch": torch.__version__}
    print(json.dumps(summary, indent=1))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
