"""Decoding with a KV cache: one prompt greedily (the reference the C# engine is compared with), or a batch of
left-padded prompts (greedy or sampled) for quick evaluation and trajectory sampling."""
from __future__ import annotations

import torch

from qwen3 import Qwen3ForCausalLM


@torch.no_grad()
def greedy(model: Qwen3ForCausalLM, prompt: list[int], stop_ids: set[int], max_new_tokens: int = 256) -> list[int]:
    """Greedy decode of one prompt (batch 1, no padding): prefill, then one token per step. Returns the new ids,
    the stop token included when reached."""
    cache = model.new_cache()
    logits = model(torch.tensor([prompt]), cache=cache)
    out: list[int] = []
    for _ in range(max_new_tokens):
        nxt = int(torch.argmax(logits[0, -1]))
        out.append(nxt)
        if nxt in stop_ids:
            break
        logits = model(torch.tensor([[nxt]]), cache=cache)
    return out


@torch.no_grad()
def generate_batch(model: Qwen3ForCausalLM, prompts: list[list[int]], stop_ids: set[int], pad_id: int,
                   max_new_tokens: int = 256, temperature: float = 0.0,
                   generator: torch.Generator | None = None) -> list[list[int]]:
    """Decode several prompts at once, left-padded (HF's convention: positions count real tokens only).
    temperature 0 is greedy; otherwise plain softmax sampling at that temperature."""
    device = next(model.parameters()).device
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = model.new_cache()
    logits = model(ids, attention_mask=mask, positions=positions, cache=cache)[:, -1]
    next_pos = positions[:, -1:] + 1
    outs: list[list[int]] = [[] for _ in prompts]
    done = [False] * len(prompts)
    for _ in range(max_new_tokens):
        if temperature > 0:
            probs = torch.softmax(logits.float() / temperature, dim=-1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=generator).to(device)
        else:
            nxt = torch.argmax(logits, dim=-1, keepdim=True)
        for i, t in enumerate(nxt[:, 0].tolist()):
            if not done[i]:
                outs[i].append(t)
                done[i] = t in stop_ids
        if all(done):
            break
        mask = torch.cat((mask, torch.ones_like(nxt)), dim=1)
        logits = model(nxt, attention_mask=mask, positions=next_pos, cache=cache)[:, -1]
        next_pos = next_pos + 1
    return outs
