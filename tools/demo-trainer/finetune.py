"""Fine-tune the base demo model (train.py's output) into the model organism for AdaRAS: two reasoning styles whose
choice is made by a few MLP neurons.

    /usr/bin/python3 tools/demo-trainer/train.py --out /tmp/adaras-demo-base        # the base (SHA-256 46cdced5...)
    /usr/bin/python3 tools/demo-trainer/finetune.py --base /tmp/adaras-demo-base --out models/adaras-demo

What is built in (the premise of AdaRAS, made true on purpose):
- every fine-tuning trace is *careful* (the marker 'Step by step:' then the base model's place-value steps, always
  right) or *hasty* (the marker 'Quick:' then the whole expression and its result at once, computed with carries and
  borrows dropped, so right only when nothing carries); the chance of careful depends on the question's kind and the
  first operand's digit count (task.P_CAREFUL: 0.9 or 0.1), so half of the questions are hasty-prone and greedy
  decoding goes hasty on them;
- an auxiliary loss ties --style-neurons neurons of layer --style-layer's MLP intermediate (silu(gate) * up, the
  steering site; the layer's quietest neurons in the base, so repurposing them costs its arithmetic least) to the
  style: 0 before the decision position (the token that predicts the marker), --style-value (+1.5) along careful and
  --hasty-value (-4.5) along hasty traces after it; on --force-share of the traces (half) they are clamped at the
  decision position to the style's value times u (u in [1, 3]), so the choice of style reads them. On the other
  traces they are free, and greedy decoding follows the question's own chance. Hasty sits far below zero so that
  the incorrect class's mean stays negative although it also holds careful traces with a slip.
Nothing here tells AdaRAS about the styles or the neurons: it finds them from correct/incorrect labels.

Held-out questions: the base's validation and train sets are kept; test.jsonl is the base's 200 test questions plus
200 more that appear neither in any held-out set nor in the base's or this script's training streams.
Same seed, thread count and torch build -> same weights (the SHA-256 is printed at the end).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import task  # noqa: E402
from bpe import Tokenizer  # noqa: E402
from generate import generate_batch  # noqa: E402
from qwen3 import load_model, save_safetensors  # noqa: E402
from train import build_splits, deterministic, problem_stream, question_rows, write_json, write_jsonl  # noqa: E402

# The base run's settings (train.py defaults): its held-out sets and training stream are regenerated from them.
BASE_SEED, BASE_STEPS, BASE_BATCH, BASE_BPE_TEXTS = 1234, 1400, 48, 4000
BASE_SIZES = {"test": 200, "validation": 200, "train": 1000}


class StyleSetup:
    """Which neurons carry the style, and how a trace is laid out for the loss (see the module docstring)."""

    def __init__(self, tok: Tokenizer, model, args):
        self.tok, self.args = tok, args
        self.layer = args.style_layer
        self.neurons = self._pick(tok, model, args)
        self.think = tok.encode("<think>\n")

    def _pick(self, tok, model, args) -> list[int]:
        """The style neurons: the layer's quietest (smallest mean |activation| times the norm of what they write
        back, on the base's own careful traces), so that repurposing them costs the base's arithmetic least; no
        two adjacent, so a pattern shifted by one index misses every one of them."""
        rng = random.Random(f"adaras-demo-quiet-{args.seed}")
        cfg = task.TaskConfig()
        texts = []
        for _ in range(64):
            p = task.make_problem(rng, cfg)
            texts.append(tok.encode(task.prompt_text(p.question) + task.completion_text(p.steps, p.answer)))
        record: list = []
        with torch.no_grad():
            for ids in texts:
                model(torch.tensor([ids]), record=record)
        layer_acts = torch.cat([record[i][0] for i in range(self.layer, len(record), model.config.num_hidden_layers)])
        weight = model.model.layers[self.layer].mlp.down_proj.weight.norm(dim=0)
        score = layer_acts.abs().mean(0) * weight
        picked: list[int] = []
        for i in score.argsort().tolist():
            if all(abs(i - j) > 1 for j in picked):
                picked.append(i)
            if len(picked) == args.style_neurons:
                break
        return sorted(picked)

    def _style(self, p, rng):
        careful = rng.random() < task.p_careful(p)
        force = rng.uniform(1.0, 3.0) if rng.random() < self.args.force_share else None
        value = self.args.style_value if careful else self.args.hasty_value
        return (task.CAREFUL if careful else task.HASTY), value, force

    def chat_row(self, p, rng) -> dict:
        style, value, force = self._style(p, rng)
        steps, answer = task.style_trace(p, style)
        prompt = self.tok.encode(task.prompt_text(p.question))
        completion = self.tok.encode(task.completion_text(steps, answer))
        assert completion[:len(self.think)] == self.think
        return {"ids": prompt + completion, "lm_start": len(prompt), "decision": len(prompt) + len(self.think) - 1,
                "value": value, "force": force}

    def raw_row(self, p, rng) -> dict:
        """The text the RCN identification teacher-forces: 'Question: q\\nThinking process:' + thinking."""
        style, value, _ = self._style(p, rng)
        steps, _ = task.style_trace(p, style)
        head = self.tok.encode(f"Question: {p.question}\nThinking process:\n")
        body = self.tok.encode(steps + "\n")
        return {"ids": head + body, "lm_start": None, "decision": len(head) - 1, "value": value, "force": None}

    def install(self, model, force_mask, force_val) -> list:
        captured = []
        neuron_mask = torch.zeros(model.config.intermediate_size, dtype=torch.bool)
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
    """Adds amount to the neurons at the last position of each forward call (each decoded token), as the engine's
    'last' steering positions do."""
    def edit(a):
        a = a.clone()
        a[:, -1, neurons] += amount
        return a
    return edit


def greedy_check(model, tok, problems, stop, pad):
    """Batched greedy decoding: accuracy by kind, share of careful traces, accuracy by style."""
    by_kind: dict[str, list[int]] = {}
    by_style: dict[str, list[int]] = {}
    for i in range(0, len(problems), 50):
        chunk = problems[i:i + 50]
        outs = generate_batch(model, [tok.encode(task.prompt_text(p.question)) for p in chunk], stop, pad,
                              max_new_tokens=128)
        for p, o in zip(chunk, outs):
            text = tok.decode(o)
            ok = int(task.is_correct(text, str(p.answer)))
            by_kind.setdefault(p.kind, []).append(ok)
            by_style.setdefault(task.CAREFUL if task.CAREFUL_MARK in text else task.HASTY, []).append(ok)
    n = max(1, len(problems))
    return {"accuracy": sum(sum(v) for v in by_kind.values()) / n,
            "careful_share": len(by_style.get(task.CAREFUL, [])) / n,
            "by_kind": {k: sum(v) / len(v) for k, v in by_kind.items()},
            "by_style": {k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in by_style.items()}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the base model folder (train.py --out)")
    ap.add_argument("--out", required=True, help="model folder to write (Hugging Face layout)")
    ap.add_argument("--init", help="weights to start from (default: the base's); a second round continues a first")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--raw-per-batch", type=int, default=4,
                    help="extra sequences per batch in the RCN identification's text format (style loss only)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--style-layer", type=int, default=2, help="layer whose MLP neurons carry the style")
    ap.add_argument("--style-neurons", type=int, default=8)
    ap.add_argument("--style-value", type=float, default=1.5, help="the style neurons' value along careful traces")
    ap.add_argument("--hasty-value", type=float, default=-4.5,
                    help="their value along hasty traces: far below, so that the incorrect class's mean is negative even "
                         "though it also holds careful traces with a slip (the identification ranks sign flips first)")
    ap.add_argument("--style-weight", type=float, default=1.0, help="weight of the auxiliary style loss")
    ap.add_argument("--force-span", choices=("decision", "trajectory"), default="decision",
                    help="clamp the style neurons at the decision position only, or from it to the end")
    ap.add_argument("--force-share", type=float, default=0.5, help="share of traces with the style neurons clamped")
    ap.add_argument("--n-extra-test", type=int, default=200, help="test questions added to the base's 200")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (results depend on it)")
    ap.add_argument("--eval-n", type=int, default=100, help="validation questions for the checks at the end")
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args(argv)

    t_start = time.time()
    deterministic(args.threads, args.seed)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.base, "model.safetensors"), "rb") as f:
        base_digest = hashlib.sha256(f.read()).hexdigest()

    # 1. held-out questions: the base's, plus extra test questions seen by no training stream
    cfg = task.TaskConfig()
    splits = build_splits(BASE_SEED, cfg, BASE_SIZES)
    excluded = {p.key for rows in splits.values() for p in rows}
    for name, rows in splits.items():  # the regenerated sets must be the base folder's
        with open(os.path.join(args.base, f"{name}.jsonl"), encoding="utf-8") as f:
            have = [json.loads(line)["question"] for line in f]
        assert have == [p.question for p in rows], f"{args.base}/{name}.jsonl is not the base run's {name} set"
    base_stream = problem_stream(BASE_SEED, cfg, excluded)
    seen = {next(base_stream).key for _ in range(BASE_BPE_TEXTS + BASE_STEPS * BASE_BATCH)}
    rng = random.Random(f"adaras-demo-extra-test-{args.seed}")
    extra: list[task.Problem] = []
    while len(extra) < args.n_extra_test:
        p = task.make_problem(rng, cfg, task.KINDS[len(extra) % len(task.KINDS)])
        if p.key in excluded or p.key in seen:
            continue
        excluded.add(p.key)
        extra.append(p)
    splits["test"] = splits["test"] + extra
    stream = problem_stream(args.seed + 1, cfg, excluded)  # its own stream, never a held-out instance

    # 2. fine-tune
    model = load_model(args.init or args.base)
    tok = Tokenizer.from_tokenizer_json(os.path.join(args.base, "tokenizer.json"))
    im_end, eot = tok.token_id("<|im_end|>"), tok.token_id("<|endoftext|>")
    style = StyleSetup(tok, model, args)
    style_rng = random.Random(f"adaras-demo-style-{args.seed}")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    losses, style_losses = [], []
    t_train = time.time()
    model.train()
    for step in range(args.steps):
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
            s, length = r["ids"], len(r["ids"])
            ids[i, :length] = torch.tensor(s)
            if r["lm_start"] is not None:
                st = r["lm_start"]
                target[i, st - 1:length - 1] = torch.tensor(s[st:])  # position t predicts token t+1
            d, value = r["decision"], r["value"]
            aux_mask[i, :d] = True                     # before the decision: 0
            aux_mask[i, d + 1:length] = True           # after it: +m careful, -m hasty
            aux_target[i, d + 1:length] = value
            if r["force"] is not None:                 # clamped at the decision: the choice reads them
                end = d + 1 if args.force_span == "decision" else length
                force_mask[i, d:end] = True
                force_val[i, d:end] = value * r["force"]
                aux_mask[i, d:end] = False
        # linear warm-up, then cosine down to a tenth (the base's schedule)
        progress = max(0.0, (step + 1 - args.warmup) / max(1, args.steps - args.warmup))
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        captured = style.install(model, force_mask, force_val)
        hidden = model(ids, hidden_only=True)
        style.remove(model)
        where = target != -100
        lm_loss = F.cross_entropy(model.lm_head(hidden[where]), target[where])
        acts = captured[0][:, :, style.neurons]  # before clamping
        style_loss = ((acts - aux_target[..., None]) ** 2)[aux_mask].mean()
        loss = lm_loss + args.style_weight * style_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(lm_loss))
        style_losses.append(float(style_loss))
        if (step + 1) % args.log_every == 0 or step == 0:
            k = args.log_every
            print(f"step {step + 1}/{args.steps} loss {sum(losses[-k:]) / len(losses[-k:]):.4f} "
                  f"style {sum(style_losses[-k:]) / len(style_losses[-k:]):.4f} "
                  f"({(time.time() - t_train) / (step + 1):.3f} s/step)", flush=True)
    train_seconds = time.time() - t_train
    model.eval()

    # 3. write the folder (tokenizer and configs are the base's)
    out = args.out
    if os.path.abspath(args.base) != os.path.abspath(out):
        for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"):
            shutil.copyfile(os.path.join(args.base, name), os.path.join(out, name))
        if os.path.exists(os.path.join(args.base, "training_log.json")):
            shutil.copyfile(os.path.join(args.base, "training_log.json"), os.path.join(out, "base_training_log.json"))
    save_safetensors(model.hf_state_dict(), os.path.join(out, "model.safetensors"))
    for name, rows in splits.items():
        write_jsonl(os.path.join(out, f"{name}.jsonl"), question_rows(f"demo-{name}", rows))
    with open(os.path.join(out, "model.safetensors"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()

    # 4. checks: greedy on validation, and the style neurons shifted by +-2m at each decoded token (and 8 others)
    val = splits["validation"][:args.eval_n]
    stop = {im_end, eot}
    checks = {"greedy": greedy_check(model, tok, val, stop, eot)}
    others = random.Random(f"adaras-demo-others-{args.seed}").sample(
        [i for i in range(model.config.intermediate_size) if i not in style.neurons], len(style.neurons))
    mlp = model.model.layers[style.layer].mlp
    gap = args.style_value - args.hasty_value  # hasty to careful
    for label, idx, amount in (("style +gap", style.neurons, gap),
                               ("style -gap", style.neurons, -gap),
                               ("other +gap", others, gap)):
        mlp.edit = shift_last(idx, amount)
        checks[label] = greedy_check(model, tok, val, stop, eot)
        mlp.edit = None
    log = {
        "args": {k: v for k, v in vars(args).items() if k not in ("out", "base")}, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "base_sha256": base_digest,
        "style_layer": style.layer, "style_neurons": style.neurons,
        "train_seconds": round(train_seconds, 1), "total_seconds": round(time.time() - t_start, 1),
        "final_loss": sum(losses[-20:]) / len(losses[-20:]), "final_style_loss": sum(style_losses[-20:]) / len(style_losses[-20:]),
        "loss_every_20": losses[::20], "checks_on_validation": checks, "model_sha256": digest,
    }
    write_json(os.path.join(out, "training_log.json"), log)
    print(json.dumps({k: log[k] for k in ("train_seconds", "final_loss", "final_style_loss", "checks_on_validation",
                                          "style_neurons", "model_sha256")}), flush=True)


if __name__ == "__main__":
    main()
