#!/usr/bin/env python3
"""The paper's own stack as a speed baseline: Hugging Face transformers on the same checkpoint, steered with the
paper's hook semantics (a forward pre-hook on each steered layer's mlp.down_proj that adds alpha * weight to K
neurons of the last position, as the paper's Src/intervention.py does), with and without the hook.

  python3 hf_baseline.py --model CKPT --pattern AIME_Qwen3-1.7B.csv --out hf.json [--device cuda] [--dtype bf16]

Timing: the prompt's prefill is one forward pass; decode is a greedy loop over the KV cache (one token per forward
pass), timed with the device synchronised, median of --rounds. Memory: torch's peak allocated and reserved bytes.
Where transformers is missing (this project's CPU machines), --impl demo runs tools/demo-trainer/qwen3.py (plain
torch Qwen3 with the same module names) so the script itself can be rehearsed on a tiny checkpoint.
"""
import argparse, csv, json, os, statistics, sys, time

import torch


def load_pattern(path, k):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) < k:
        sys.exit(f"error: {path}: {len(rows)} neurons, fewer than --neurons {k}")
    by_layer = {}
    for row in rows[:k]:
        by_layer.setdefault(int(row["layer"]), []).append((int(row["neuron_index_in_layer"]), float(row["weight"])))
    return by_layer


def load_model(args):
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.dtype]
    if args.impl == "transformers":
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype)
    else:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo-trainer"))
        import qwen3
        model = DemoAdapter(qwen3.load_model(args.model).to(dtype))
    return model.to(args.device).eval()


class DemoAdapter(torch.nn.Module):
    """tools/demo-trainer's plain Qwen3 behind transformers' call shape (input_ids, past_key_values -> logits)."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config, self.model = inner, inner.config, inner.model

    def forward(self, input_ids, past_key_values=None, use_cache=True):
        cache = past_key_values if past_key_values is not None else self.inner.new_cache()
        logits = self.inner(input_ids, cache=cache)
        return type("Output", (), {"logits": logits, "past_key_values": cache})


def layers_of(model):
    return model.model.layers


def add_hooks(model, by_layer, alpha):
    handles = []
    for layer, neurons in by_layer.items():
        down = layers_of(model)[layer].mlp.down_proj
        idx = torch.tensor([n for n, _ in neurons], device=down.weight.device)
        shift = torch.tensor([alpha * w for _, w in neurons], device=down.weight.device, dtype=down.weight.dtype)

        def hook(module, inputs, idx=idx, shift=shift):
            x = inputs[0]
            x[:, -1, idx] += shift  # the last position of this forward call, as the paper steers
            return (x,) + tuple(inputs[1:])

        handles.append(down.register_forward_pre_hook(hook))
    return handles


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@torch.inference_mode()
def run_once(model, args, prompt):
    sync(args.device)
    start = time.perf_counter()
    out = model(input_ids=prompt, use_cache=True)
    past = out.past_key_values
    token = out.logits[:, -1].argmax(-1, keepdim=True)
    sync(args.device)
    prefill = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(args.new - 1):
        out = model(input_ids=token, past_key_values=past, use_cache=True)
        past = out.past_key_values
        token = out.logits[:, -1].argmax(-1, keepdim=True)
    sync(args.device)
    decode = time.perf_counter() - start
    return {"prefill_tokens_per_s": prompt.shape[1] / prefill, "decode_tokens_per_s": (args.new - 1) / decode}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--pattern", required=True)
    p.add_argument("--neurons", type=int, default=50)
    p.add_argument("--alpha", type=float, default=0.3)
    p.add_argument("--prompt", type=int, default=512)
    p.add_argument("--new", type=int, default=256)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default="bf16", choices=["bf16", "fp16", "fp32"])
    p.add_argument("--impl", default="transformers", choices=["transformers", "demo"])
    p.add_argument("--out", required=True)
    args = p.parse_args()

    model = load_model(args)
    vocab = model.config.vocab_size
    prompt = torch.tensor([[1000 + (i * 7919) % min(100000, vocab - 1000) for i in range(args.prompt)]], device=args.device)
    prompt = prompt % vocab
    by_layer = load_pattern(args.pattern, args.neurons)
    if max(by_layer) >= len(layers_of(model)):
        sys.exit(f"error: {args.pattern}: layer {max(by_layer)} does not exist in a {len(layers_of(model))}-layer model")

    # The control: the hook must change the next-token logits, or the timing with it would mean nothing.
    with torch.inference_mode():
        plain = model(input_ids=prompt, use_cache=True).logits[0, -1].float()
        handles = add_hooks(model, by_layer, args.alpha)
        hooked = model(input_ids=prompt, use_cache=True).logits[0, -1].float()
        for h in handles:
            h.remove()
    hook_effect = (hooked - plain).abs().max().item()
    if not hook_effect > 0:
        sys.exit("error: the steering hook did not change the logits")

    label = "transformers" if args.impl == "transformers" else "plain torch (demo-trainer)"
    off, on = f"{label} {args.dtype}, no hook", f"{label} {args.dtype}, paper hook (K = {args.neurons})"
    run_once(model, args, prompt[:, :16])  # warm-up
    rows = {off: [], on: []}
    for _ in range(args.rounds):
        rows[off].append(run_once(model, args, prompt))
        handles = add_hooks(model, by_layer, args.alpha)
        rows[on].append(run_once(model, args, prompt))
        for h in handles:
            h.remove()

    def median(name, key):
        return statistics.median(r[key] for r in rows[name])

    result = {
        "impl": args.impl, "device": args.device, "dtype": args.dtype,
        "torch": torch.__version__, "hook_max_logit_change": hook_effect,
        "hook_over_no_hook": statistics.median(r["decode_tokens_per_s"] for r in rows[on])
                             / statistics.median(r["decode_tokens_per_s"] for r in rows[off]),
        "prompt_tokens": args.prompt, "new_tokens": args.new, "rounds": args.rounds,
        "rows": [{"configuration": name,
                  "prefill_tokens_per_s": median(name, "prefill_tokens_per_s"),
                  "decode_tokens_per_s": median(name, "decode_tokens_per_s"),
                  "decode_spread": [r["decode_tokens_per_s"] for r in runs]} for name, runs in rows.items()],
    }
    if args.device.startswith("cuda"):
        result["peak_allocated_bytes"] = torch.cuda.max_memory_allocated()
        result["peak_reserved_bytes"] = torch.cuda.max_memory_reserved()
    if args.impl == "transformers":
        import transformers
        result["transformers"] = transformers.__version__
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result["rows"], indent=2))


if __name__ == "__main__":
    main()
