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


class StyleSetup:
    """The built-in premise: each training trace is careful or hasty (chance by question, task.P_CAREFUL), and a
    few neurons of one layer's MLP intermediate are tied to that style: held at 0 before the decision position
    (the token that predicts the style marker), at +m along careful and -m along hasty traces after it, and on a
    share of traces clamped to the style's value from the decision on, so that the choice of style reads them."""

    def __init__(self, tok: Tokenizer, config, args):
        self.tok, self.args = tok, args
        self.layer = min(args.style_layer, config.num_hidden_layers - 1)
        rng = random.Random(f"adaras-demo-neurons-{args.seed}")
        while True:  # no two adjacent, so a pattern shifted by one index misses every one of them
            picked = sorted(rng.sample(range(config.intermediate_size), args.style_neurons))
            if all(b - a > 1 for a, b in zip(picked, picked[1:])):
                break
        self.neurons = picked
        self.think = tok.encode("<think>\n")

    def _style(self, p, rng):
        careful = rng.random() < task.p_careful(p)
        force = rng.uniform(1.0, 3.0) if rng.random() < self.args.force_share else None
        return (task.CAREFUL if careful else task.HASTY), (1.0 if careful else -1.0), force

    def chat_row(self, p, rng) -> dict:
        style, sign, force = self._style(p, rng)
        steps, answer = task.style_trace(p, style)
        prompt = self.tok.encode(task.prompt_text(p.question))
        completion = self.tok.encode(task.completion_text(steps, answer))
        assert completion[:len(self.think)] == self.think
        return {"ids": prompt + completion, "lm_start": len(prompt), "decision": len(prompt) + len(self.think) - 1,
                "sign": sign, "force": force}

    def raw_row(self, p, rng) -> dict:
        """The text the neuron probe teacher-forces: 'Question: q\nThinking process:' + thinking (no chat template)."""
        style, sign, _ = self._style(p, rng)
        steps, _ = task.style_trace(p, style)
        head = self.tok.encode(f"Question: {p.question}\nThinking process:\n")
        body = self.tok.encode(steps + "\n")
        return {"ids": head + body, "lm_start": None, "decision": len(head) - 1, "sign": sign, "force": None}

    def install(self, model, force_mask, force_val) -> list:
        captured = []
        neuron_mask = torch.zeros(self.args.intermediate, dtype=torch.bool, device=force_mask.device)
        neuron_mask[self.neurons] = True
        where = force_mask[..., None] & neuron_mask

        def edit(a):
            captured.append(a)
            return torch.where(where, force_val[..., None].expand_as(a), a)

        model.model.layers[self.layer].mlp.edit = edit
        return captured

    def remove(self, model):
        model.model.layers[self.layer].mlp.edit = None


def shift_last(neurons: list[int], amount: float):
    """Adds amount to the given neurons at the last position of each forward call (each decoded token), as the
    engine's 'last' steering positions do."""
    def edit(a):
        a = a.clone()
        a[:, -1, neurons] += amount
        return a
    return edit


def greedy_check(model, tok, problems, stop, pad):
    correct_by_kind: dict[str, list[int]] = {}
    by_style: dict[str, list[int]] = {}
    careful = 0
    for i in range(0, len(problems), 50):
        chunk = problems[i:i + 50]
        outs = generate_batch(model, [tok.encode(task.prompt_text(p.question)) for p in chunk], stop, pad,
                              max_new_tokens=256)
        for p, o in zip(chunk, outs):
            text = tok.decode(o)
            ok = int(task.is_correct(text, str(p.answer)))
            correct_by_kind.setdefault(p.kind, []).append(ok)
            s = task.CAREFUL if task.CAREFUL_MARK in text else task.HASTY
            careful += s == task.CAREFUL
            by_style.setdefault(s, []).append(ok)
    n = max(1, len(problems))
    acc = sum(sum(v) for v in correct_by_kind.values()) / n
    return ({k: sum(v) / len(v) for k, v in correct_by_kind.items()}, careful / n, acc,
            {k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in by_style.items()})


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="model folder to write (Hugging Face layout)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=700)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--p3-sum", type=float, default=0.5, help="chance of a 3-digit operand in sums")
    ap.add_argument("--p3-prod", type=float, default=0.5, help="chance of a 3-digit factor in products")
    ap.add_argument("--p3-other", type=float, default=0.2, help="chance of a 3-digit second or third operand")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--intermediate", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=32)
    ap.add_argument("--merges", type=int, default=400, help="most BPE merges (fewer when pairs run out)")
    ap.add_argument("--n-test", type=int, default=400)
    ap.add_argument("--n-validation", type=int, default=200)
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (results depend on it; 1 is also fastest when the 2 cores are shared)")
    ap.add_argument("--device", default="cpu", help="cpu (the reproducible setting) or cuda (quick scans)")
    ap.add_argument("--eval-n", type=int, default=100, help="validation questions to decode at the end")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--style-layer", type=int, default=2, help="layer whose MLP neurons carry the reasoning style")
    ap.add_argument("--style-neurons", type=int, default=8, help="how many neurons of that layer carry it")
    ap.add_argument("--style-value", type=float, default=1.5, help="m: their target, +m careful, -m hasty")
    ap.add_argument("--style-weight", type=float, default=0.5, help="weight of the auxiliary style loss")
    ap.add_argument("--force-share", type=float, default=0.3,
                    help="share of traces whose style neurons are clamped to the style from the decision on")
    ap.add_argument("--raw-per-batch", type=int, default=4,
                    help="extra sequences per batch in the paper's probe text format (style loss only)")
    ap.add_argument("--check-n", type=int, default=100, help="validation questions for the steering check")
    args = ap.parse_args(argv)

    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
    except TypeError:  # torch < 1.11 has no warn_only
        torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    cfg = task.TaskConfig(args.p3_sum, args.p3_prod, args.p3_other)

    # 1. held-out questions
    splits = build_splits(args.seed, cfg, {"test": args.n_test, "validation": args.n_validation,
                                           "train": args.n_train})
    excluded = {p.key for rows in splits.values() for p in rows}
    stream = problem_stream(args.seed, cfg, excluded)

    # 2. tokenizer, learned on training texts only
    corpus = [task.prompt_text(p.question) + task.completion_text(*task.style_trace(p, (task.CAREFUL, task.HASTY)[i % 2]))
              for i, p in enumerate(next(stream) for _ in range(4000))]
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
    losses, style_losses = [], []
    style = StyleSetup(tok, config, args)
    style_rng = random.Random(f"adaras-demo-style-{args.seed}")
    t_train = time.time()
    model.train()
    for step in range(args.steps):
        # Batches mix lengths and kinds on purpose: grouping by length (less padding) made batches of one kind
        # and training unstable (validation accuracy fell from ~0.7 to ~0.1 in a scan).
        rows = [style.chat_row(p, style_rng) for p in (next(stream) for _ in range(args.batch))]
        rows += [style.raw_row(p, style_rng) for p in (next(stream) for _ in range(args.raw_per_batch))]
        width = max(len(r["ids"]) for r in rows)
        n = len(rows)
        ids = torch.full((n, width), eot, dtype=torch.long)
        target = torch.full((n, width), -100, dtype=torch.long)
        aux_target = torch.zeros((n, width))
        aux_mask = torch.zeros((n, width), dtype=torch.bool)
        force_val = torch.zeros((n, width))
        force_mask = torch.zeros((n, width), dtype=torch.bool)
        for i, r in enumerate(rows):
            s, L = r["ids"], len(r["ids"])
            ids[i, :L] = torch.tensor(s)
            if r["lm_start"] is not None:
                st = r["lm_start"]
                target[i, st - 1:L - 1] = torch.tensor(s[st:])  # position t predicts token t+1
            d, sign = r["decision"], r["sign"]
            aux_mask[i, :d] = True                 # before the decision: 0
            aux_mask[i, d + 1:L] = True            # after it: +m careful, -m hasty
            aux_target[i, d + 1:L] = sign * args.style_value
            if r["force"] is not None:             # clamped from the decision on (the decision reads them)
                force_mask[i, d:L] = True
                force_val[i, d:L] = sign * args.style_value * r["force"]
                aux_mask[i, d:L] = False
        ids, target = ids.to(device), target.to(device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        captured = style.install(model, force_mask.to(device), force_val.to(device))
        hidden = model(ids, hidden_only=True)
        style.remove(model)
        where = target != -100
        logits = model.lm_head(hidden[where])  # only positions that predict an assistant token
        lm_loss = F.cross_entropy(logits, target[where])
        acts = captured[0][:, :, style.neurons]                       # (B, T, k) before clamping
        err = (acts - aux_target.to(device)[..., None]) ** 2
        style_loss = err[aux_mask.to(device)].mean()
        loss = lm_loss + args.style_weight * style_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(lm_loss))
        style_losses.append(float(style_loss))
        if (step + 1) % args.log_every == 0 or step == 0:
            recent = sum(losses[-args.log_every:]) / len(losses[-args.log_every:])
            recent_s = sum(style_losses[-args.log_every:]) / len(style_losses[-args.log_every:])
            print(f"step {step + 1}/{args.steps} loss {recent:.4f} style {recent_s:.4f} "
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

    # 5. quick greedy accuracy on validation (batched; evaluate.py gives the exact batch-1 numbers), and the
    #    steering check: the style neurons shifted at each decoded position (+, -, and 8 other neurons)
    val = splits["validation"][:args.eval_n]
    t_eval = time.time()
    per_kind, careful_share, acc, by_style = greedy_check(model, tok, val, {im_end, eot}, eot)
    others = [i for i in range(args.intermediate) if i not in style.neurons]
    others = random.Random(f"adaras-demo-others-{args.seed}").sample(others, len(style.neurons))
    shift = 2 * args.style_value
    steering = {}
    for label, idx, amount in (("style +2m", style.neurons, shift), ("style -2m", style.neurons, -shift),
                               ("other +2m", others, shift)):
        layer = model.model.layers[style.layer].mlp
        layer.edit = shift_last(idx, amount)
        _, share, a, _ = greedy_check(model, tok, val[:args.check_n], {im_end, eot}, eot)
        layer.edit = None
        steering[label] = {"accuracy": a, "careful_share": share}
    log = {
        "args": {k: v for k, v in vars(args).items() if k != "out"}, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "vocab_size": tok.vocab_size, "merges": len(tok.merges), "parameters": n_params,
        "style_layer": style.layer, "style_neurons": style.neurons,
        "train_seconds": round(train_seconds, 1), "total_seconds": round(time.time() - t_start, 1),
        "final_loss": sum(losses[-50:]) / len(losses[-50:]), "loss_every_50": losses[::50],
        "final_style_loss": sum(style_losses[-50:]) / len(style_losses[-50:]),
        "validation_greedy_accuracy_batched": acc, "validation_accuracy_by_kind": per_kind,
        "validation_careful_share": careful_share, "validation_accuracy_by_style": by_style,
        "steering_check": steering, "model_sha256": digest,
    }
    write_json(os.path.join(out, "training_log.json"), log)
    print(json.dumps({k: log[k] for k in ("train_seconds", "final_loss", "final_style_loss",
                                          "validation_greedy_accuracy_batched", "validation_accuracy_by_kind",
                                          "validation_careful_share", "validation_accuracy_by_style", "steering_check",
                                          "style_neurons", "model_sha256")}), flush=True)
    print(f"eval {time.time() - t_eval:.1f}s", flush=True)


if __name__ == "__main__":
    main()
