"""Quick checks of the trainer's parts (about half a minute on 2 cores):

    /usr/bin/python3 tools/demo-trainer/selftest.py [--model models/adaras-demo]

  * the regex and the ASCII transcription of Qwen's pre-tokenizer split ASCII text identically;
  * BPE encode/decode round-trips and added tokens are kept whole;
  * safetensors write/read round-trips and the header is 8-byte aligned;
  * KV-cache decoding, left-padded batches and full recomputation give the same logits;
  * the same seed trains the same weights (two tiny runs);
  * with --model: the committed folder loads, its files agree, and its greedy answers match greedy_results.jsonl.
Exits 1 on the first failure.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpe  # noqa: E402
import task  # noqa: E402
from generate import generate_batch, greedy  # noqa: E402
from qwen3 import (Qwen3Config, Qwen3ForCausalLM, load_model, load_safetensors,  # noqa: E402
                   save_safetensors)


def check(cond: bool, what: str):
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)
    print(f"ok: {what}")


def texts(n: int) -> list[str]:
    rng = random.Random(5)
    out = []
    for _ in range(n):
        p = task.make_problem(rng, task.TaskConfig())
        out.append(task.prompt_text(p.question) + task.completion_text(p.steps, p.answer))
    return out + ["Hello world's 123  \n\n  x", "I'LL go, you've\r\n\tTabs\t\t and  spaces   ", "a  \n b\n\n\n",
                  "   leading", "trailing   ", "x=-5, y=+7; z*=3 {}()[]", "'s'S'Re 've"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="also check this trained folder")
    args = ap.parse_args()
    torch.set_num_threads(1)
    corpus = texts(300)

    if bpe._re_unicode is not None:
        check(all(bpe._PRETOKENIZE.findall(t) == bpe._PRETOKENIZE_ASCII.findall(t) for t in corpus),
              "Qwen regex and its ASCII transcription split the same")
    tok = bpe.train_bpe(corpus, 150)
    check(all(tok.decode(tok.encode(t)) == t for t in corpus), "encode/decode round-trips")
    ids = tok.encode("<|im_start|>user\n<think>x</think><|im_end|>")
    check(ids[0] == tok.token_id("<|im_start|>") and tok.token_id("<think>") in ids
          and ids[-1] == tok.token_id("<|im_end|>"), "added tokens stay whole")
    check(tok.encode("7+8") == [tok.vocab["7"], tok.vocab["+"], tok.vocab["8"]], "digits are single tokens")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "tokenizer.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(tok.to_tokenizer_json(), f)
        again = bpe.Tokenizer.from_tokenizer_json(path)
        check(all(again.encode(t) == tok.encode(t) for t in corpus), "tokenizer.json reloads to the same encoder")

    torch.manual_seed(0)
    config = Qwen3Config(vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=12)
    model = Qwen3ForCausalLM(config)
    model.init_weights(0.2)
    model.eval()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.safetensors")
        save_safetensors(model.hf_state_dict(), path)
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
        check(n % 8 == 0, "safetensors header is padded to 8 bytes")
        back = load_safetensors(path)
        check(all(torch.equal(back[k], v) for k, v in model.hf_state_dict().items()), "safetensors round-trips")
        check("lm_head.weight" not in back, "tied lm_head is stored once (as embed_tokens)")

    seq = tok.encode(corpus[0])[:40]
    with torch.no_grad():
        full = model(torch.tensor([seq]))[0]
        cache = model.new_cache()
        steps = [model(torch.tensor([seq[:30]]), cache=cache)[0]]
        for t in seq[30:]:
            steps.append(model(torch.tensor([[t]]), cache=cache)[0])
        cached = torch.cat(steps)
        check(torch.allclose(full, cached, atol=1e-5), "KV-cache decoding equals full recomputation")
        pad = [tok.token_id("<|endoftext|>")] * 7
        mask = torch.tensor([[0] * 7 + [1] * len(seq)])
        padded = model(torch.tensor([pad + seq]), attention_mask=mask,
                       positions=(mask.cumsum(-1) - 1).clamp(min=0))[0, 7:]
        check(torch.allclose(full, padded, atol=1e-5), "left padding with a mask changes nothing")
    stop = {tok.token_id("<|im_end|>")}
    prompts = [tok.encode(task.prompt_text(q)) for q in ("What is 1 + 2 - 3?", "What is 12 * 3 + 45?")]
    singles = [greedy(model, p, stop, 12) for p in prompts]
    batched = generate_batch(model, prompts, stop, tok.token_id("<|endoftext|>"), 12)
    check(singles == batched, "batched greedy equals one-by-one greedy")

    with tempfile.TemporaryDirectory() as d:
        digests = []
        for run in ("a", "b"):
            out = subprocess.run([sys.executable, os.path.join(HERE, "train.py"), "--out", os.path.join(d, run),
                                  "--steps", "3", "--hidden", "32", "--intermediate", "48", "--layers", "1",
                                  "--head-dim", "12", "--n-test", "8", "--n-validation", "8", "--n-train", "8",
                                  "--eval-n", "0"], capture_output=True, text=True)
            check(out.returncode == 0, f"tiny training run {run} finishes" + ("" if out.returncode == 0
                                                                            else ": " + out.stderr[-500:]))
            digests.append(re.search(r'"model_sha256": "([0-9a-f]+)"', out.stdout).group(1))
        check(digests[0] == digests[1], "same seed, same weights")

    if args.model:
        m = load_model(args.model)
        tok = bpe.Tokenizer.from_tokenizer_json(os.path.join(args.model, "tokenizer.json"))
        check(m.config.vocab_size == tok.vocab_size, "config vocab_size matches tokenizer.json")
        with open(os.path.join(args.model, "generation_config.json"), encoding="utf-8") as f:
            gen = json.load(f)
        check(gen["eos_token_id"][0] == tok.token_id("<|im_end|>") == m.config.eos_token_id,
              "eos ids agree across config, generation_config and tokenizer")
        questions = []
        for split in ("train", "validation", "test"):
            with open(os.path.join(args.model, f"{split}.jsonl"), encoding="utf-8") as f:
                questions += [json.loads(line)["question"] for line in f]
        check(len(set(questions)) == len(questions), f"the {len(questions)} held-out questions are all distinct")
        path = os.path.join(args.model, "greedy_results.jsonl")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                rows = [json.loads(line) for line in f][:10]
            stop = {tok.token_id("<|im_end|>"), tok.token_id("<|endoftext|>")}
            same = all(greedy(m, tok.encode(task.prompt_text(r["question"])), stop, 256) == r["output_ids"]
                       for r in rows)
            check(same, "greedy decoding reproduces the first 10 rows of greedy_results.jsonl")
        with open(os.path.join(args.model, "model.safetensors"), "rb") as f:
            print("model.safetensors sha256", hashlib.sha256(f.read()).hexdigest())


if __name__ == "__main__":
    main()
