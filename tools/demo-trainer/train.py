"""Train the embedded demo model (a tiny Qwen3 reasoner) and write it as a Hugging Face folder.

    /usr/bin/python3 tools/demo-trainer/train.py --out models/adaras-demo

Steps: make the held-out question sets (test, validation, train for AdaRAS) -> learn a byte-level BPE on the
task's chat texts -> train on a seeded stream of fresh problems (never a held-out instance), loss on the
assistant turn only -> write config.json, model.safetensors, tokenizer files, generation_config.json, the question
files and training_log.json -> greedy accuracy on the validation set.
Same seed, same thread count, same torch build -> same weights (checked by the SHA-256 printed at the end).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import task  # noqa: E402
from bpe import ADDED_TOKENS, Tokenizer, train_bpe  # noqa: E402
from generate import generate_batch  # noqa: E402
from qwen3 import Qwen3Config, Qwen3ForCausalLM, save_safetensors  # noqa: E402

QWEN3_TOKENIZER_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "qwen3_chat_template.jinja")


def build_splits(seed: int, cfg: task.TaskConfig, sizes: dict[str, int]) -> dict[str, list[task.Problem]]:
    """Held-out question sets with disjoint arithmetic instances, each kind equally often."""
    rng = random.Random(f"adaras-demo-heldout-{seed}")
    seen: set[tuple] = set()
    splits: dict[str, list[task.Problem]] = {}
    for name, n in sizes.items():
        rows: list[task.Problem] = []
        while len(rows) < n:
            p = task.make_problem(rng, cfg, task.KINDS[len(rows) % len(task.KINDS)])
            if p.key in seen:
                continue
            seen.add(p.key)
            rows.append(p)
        splits[name] = rows
    return splits


def problem_stream(seed: int, cfg: task.TaskConfig, excluded: set[tuple]):
    rng = random.Random(f"adaras-demo-train-{seed}")
    while True:
        p = task.make_problem(rng, cfg)
        if p.key not in excluded:
            yield p


def write_jsonl(path: str, rows: list[dict]):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_json(path: str, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def tokenizer_config(tok: Tokenizer, max_len: int) -> dict:
    with open(QWEN3_TOKENIZER_CONFIG, encoding="utf-8") as f:
        chat_template = f.read()
    decoder = {}
    for content, special in ADDED_TOKENS:
        decoder[str(tok.added[content])] = {"content": content, "lstrip": False, "normalized": False,
                                            "rstrip": False, "single_word": False, "special": special}
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": chat_template,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": max_len,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def question_rows(prefix: str, problems: list[task.Problem]) -> list[dict]:
    return [{"id": f"{prefix}-{i:04d}", "question": p.question, "answer": str(p.answer), "kind": p.kind}
            for i, p in enumerate(problems)]


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def deterministic(threads: int, seed: int) -> None:
    """Same seed, thread count and torch build -> the same weights, bit for bit."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
    except TypeError:  # torch < 1.11 has no warn_only
        torch.use_deterministic_algorithms(True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="model folder to write (Hugging Face layout)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=1400)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--p3-sum", type=float, default=0.5, help="chance of a 3-digit operand in sums")
    ap.add_argument("--p3-prod", type=float, default=0.5, help="chance of a 3-digit factor in products")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--intermediate", type=int, default=384)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=48)
    ap.add_argument("--merges", type=int, default=400, help="most BPE merges (fewer when pairs run out)")
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--n-validation", type=int, default=200)
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (results depend on it; 1 is also fastest when the 2 cores are shared)")
    ap.add_argument("--device", default="cpu", help="cpu (the reproducible setting) or cuda (quick scans)")
    ap.add_argument("--eval-n", type=int, default=200, help="validation questions to decode at the end")
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args(argv)

    t_start = time.time()
    deterministic(args.threads, args.seed)
    os.makedirs(args.out, exist_ok=True)
    cfg = task.TaskConfig(args.p3_sum, args.p3_prod)

    # 1. held-out questions
    splits = build_splits(args.seed, cfg, {"test": args.n_test, "validation": args.n_validation,
                                           "train": args.n_train})
    excluded = {p.key for rows in splits.values() for p in rows}
    stream = problem_stream(args.seed, cfg, excluded)

    # 2. tokenizer, learned on training texts only
    corpus = [task.prompt_text(p.question) + task.completion_text(p.steps, p.answer)
              for p in (next(stream) for _ in range(4000))]
    tok = train_bpe(corpus, args.merges)
    im_end, eot = tok.token_id("<|im_end|>"), tok.token_id("<|endoftext|>")
    sample = corpus[0]
    cut = sample.index("<think>")
    assert tok.encode(sample) == tok.encode(sample[:cut]) + tok.encode(sample[cut:])
    assert tok.decode(tok.encode(sample)) == sample

    config = Qwen3Config(vocab_size=tok.vocab_size, hidden_size=args.hidden, intermediate_size=args.intermediate,
                         num_hidden_layers=args.layers, num_attention_heads=args.heads,
                         num_key_value_heads=args.kv_heads, head_dim=args.head_dim, rope_theta=10000.0,
                         rms_norm_eps=1e-6, max_position_embeddings=1024, tie_word_embeddings=True,
                         bos_token_id=eot, eos_token_id=im_end)
    model = Qwen3ForCausalLM(config)
    model.init_weights()
    n_params = sum(p.numel() for p in model.parameters())
    device = torch.device(args.device)
    model.to(device)
    print(f"vocab {tok.vocab_size} ({len(tok.merges)} merges), params {n_params}, "
          f"prompt tokens e.g. {len(tok.encode(task.prompt_text(splits['test'][0].question)))}", flush=True)

    # 3. train
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    losses = []
    t_train = time.time()
    model.train()
    for step in range(args.steps):
        # Batches mix lengths and kinds on purpose: grouping by length (less padding) made batches of one kind
        # and training unstable (validation accuracy fell from ~0.7 to ~0.1 in a scan).
        seqs, starts = [], []
        for p in (next(stream) for _ in range(args.batch)):
            prompt = tok.encode(task.prompt_text(p.question))
            seqs.append(prompt + tok.encode(task.completion_text(p.steps, p.answer)))
            starts.append(len(prompt))
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), eot, dtype=torch.long)
        target = torch.full((len(seqs), width), -100, dtype=torch.long)
        for i, (s, st) in enumerate(zip(seqs, starts)):
            ids[i, :len(s)] = torch.tensor(s)
            target[i, st - 1:len(s) - 1] = torch.tensor(s[st:])  # position t predicts token t+1
        ids, target = ids.to(device), target.to(device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        hidden = model(ids, hidden_only=True)
        where = target != -100
        logits = model.lm_head(hidden[where])  # only positions that predict an assistant token
        loss = F.cross_entropy(logits, target[where])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss))
        if (step + 1) % args.log_every == 0 or step == 0:
            recent = sum(losses[-args.log_every:]) / len(losses[-args.log_every:])
            print(f"step {step + 1}/{args.steps} loss {recent:.4f} "
                  f"({(time.time() - t_train) / (step + 1):.3f} s/step)", flush=True)
    train_seconds = time.time() - t_train
    model.eval()
    model.to("cpu")

    # 4. write the folder
    out = args.out
    write_json(os.path.join(out, "config.json"), config.to_hf_json())
    save_safetensors(model.hf_state_dict(), os.path.join(out, "model.safetensors"))
    write_json(os.path.join(out, "tokenizer.json"), tok.to_tokenizer_json())
    write_json(os.path.join(out, "tokenizer_config.json"), tokenizer_config(tok, config.max_position_embeddings))
    write_json(os.path.join(out, "generation_config.json"), {
        "bos_token_id": eot, "do_sample": True, "eos_token_id": [im_end, eot], "pad_token_id": eot,
        "temperature": 0.8, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"})
    for name, rows in splits.items():
        write_jsonl(os.path.join(out, f"{name}.jsonl"), question_rows(f"demo-{name}", rows))
    with open(os.path.join(out, "model.safetensors"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()

    # 5. quick greedy accuracy on validation (batched; evaluate.py gives the exact batch-1 numbers)
    val = splits["validation"][:args.eval_n]
    t_eval = time.time()
    correct_by_kind: dict[str, list[int]] = {}
    for i in range(0, len(val), 50):
        chunk = val[i:i + 50]
        outs = generate_batch(model, [tok.encode(task.prompt_text(p.question)) for p in chunk], {im_end, eot},
                              eot, max_new_tokens=256)
        for p, o in zip(chunk, outs):
            correct_by_kind.setdefault(p.kind, []).append(int(task.is_correct(tok.decode(o), str(p.answer))))
    acc = sum(sum(v) for v in correct_by_kind.values()) / max(1, len(val))
    per_kind = {k: sum(v) / len(v) for k, v in correct_by_kind.items()}
    log = {
        "args": {k: v for k, v in vars(args).items() if k != "out"}, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "vocab_size": tok.vocab_size, "merges": len(tok.merges), "parameters": n_params,
        "train_seconds": round(train_seconds, 1), "total_seconds": round(time.time() - t_start, 1),
        "final_loss": sum(losses[-50:]) / len(losses[-50:]), "loss_every_50": losses[::50],
        "validation_greedy_accuracy_batched": acc, "validation_accuracy_by_kind": per_kind,
        "model_sha256": digest,
    }
    write_json(os.path.join(out, "training_log.json"), log)
    print(json.dumps({k: log[k] for k in ("train_seconds", "final_loss", "validation_greedy_accuracy_batched",
                                          "validation_accuracy_by_kind", "model_sha256")}), flush=True)
    print(f"eval {time.time() - t_eval:.1f}s", flush=True)


if __name__ == "__main__":
    main()
