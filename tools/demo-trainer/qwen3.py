"""A Qwen3 decoder in plain PyTorch with Hugging Face's parameter names and Qwen3ForCausalLM's arithmetic.

Every block follows transformers' modeling_qwen3 (v4.51+):
  x = embed_tokens(ids)
  per layer:  h = input_layernorm(x)
              q = q_norm(q_proj(h) per head), k = k_norm(k_proj(h) per head), v = v_proj(h)   (no biases)
              q, k = RoPE(q), RoPE(k)                 rotate-half, inv_freq = 1/theta^(2i/head_dim), float32
              attn = softmax(q k^T / sqrt(head_dim) + causal mask) v      (key/value heads repeated for GQA)
              x = x + o_proj(attn)
              x = x + down_proj(silu(gate_proj(h2)) * up_proj(h2)),  h2 = post_attention_layernorm(x)
  logits = lm_head(norm(x))      (lm_head shares embed_tokens.weight when tie_word_embeddings)
RMSNorm(x) = weight * x / sqrt(mean(x^2) + eps), computed in float32.

Runs on torch 1.13 (Debian) and newer; no dependency beyond torch.
"""
from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Qwen3Config:
    vocab_size: int
    hidden_size: int = 128
    intermediate_size: int = 384
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 48
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    max_position_embeddings: int = 512
    tie_word_embeddings: bool = True
    bos_token_id: int | None = None
    eos_token_id: int | None = None

    def to_hf_json(self) -> dict:
        """config.json exactly as transformers writes it for Qwen3ForCausalLM (keys sorted, as HF does)."""
        d = {
            "architectures": ["Qwen3ForCausalLM"],
            "attention_bias": False,
            "attention_dropout": 0.0,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "hidden_size": self.hidden_size,
            "initializer_range": 0.02,
            "intermediate_size": self.intermediate_size,
            "max_position_embeddings": self.max_position_embeddings,
            "max_window_layers": self.num_hidden_layers,
            "model_type": "qwen3",
            "num_attention_heads": self.num_attention_heads,
            "num_hidden_layers": self.num_hidden_layers,
            "num_key_value_heads": self.num_key_value_heads,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_scaling": None,
            "rope_theta": self.rope_theta,
            "sliding_window": None,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": "float32",
            "transformers_version": "4.51.0",
            "use_cache": True,
            "use_sliding_window": False,
            "vocab_size": self.vocab_size,
        }
        return d

    @staticmethod
    def from_hf_json(path: str) -> "Qwen3Config":
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        if d.get("model_type") != "qwen3":
            raise ValueError(f"{path}: model_type is {d.get('model_type')!r}, expected 'qwen3'")
        eos = d.get("eos_token_id")
        return Qwen3Config(
            vocab_size=d["vocab_size"], hidden_size=d["hidden_size"], intermediate_size=d["intermediate_size"],
            num_hidden_layers=d["num_hidden_layers"], num_attention_heads=d["num_attention_heads"],
            num_key_value_heads=d.get("num_key_value_heads", d["num_attention_heads"]),
            head_dim=d.get("head_dim", d["hidden_size"] // d["num_attention_heads"]),
            rope_theta=d.get("rope_theta", 10000.0), rms_norm_eps=d.get("rms_norm_eps", 1e-6),
            max_position_embeddings=d.get("max_position_embeddings", 32768),
            tie_word_embeddings=d.get("tie_word_embeddings", False), bos_token_id=d.get("bos_token_id"),
            eos_token_id=eos)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.to(torch.float32)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotary_cos_sin(positions: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of shape (B, T, head_dim) for integer positions (B, T), as HF's Qwen3RotaryEmbedding."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim))
    inv_freq = inv_freq.to(positions.device)
    freqs = positions.to(torch.float32)[..., None] * inv_freq  # (B, T, head_dim/2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c: Qwen3Config):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, c.hidden_size, bias=False)
        self.q_norm = RMSNorm(self.head_dim, c.rms_norm_eps)
        self.k_norm = RMSNorm(self.head_dim, c.rms_norm_eps)

    def forward(self, x, cos, sin, mask, cache=None):
        b, t, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, t, self.heads, self.head_dim)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(b, t, self.kv_heads, self.head_dim)).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = cos[:, None], sin[:, None]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:  # (past_k, past_v) or None; returns the grown pair
            if cache[0] is not None:
                k = torch.cat((cache[0], k), dim=2)
                v = torch.cat((cache[1], v), dim=2)
            cache[0], cache[1] = k, v
        rep = self.heads // self.kv_heads
        if rep > 1:  # query head h reads key/value head h // rep
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, c: Qwen3Config):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)
        self.edit = None  # optional callable(a) -> a on the intermediate activations (not a parameter)

    def forward(self, x, record=None):
        a = F.silu(self.gate_proj(x)) * self.up_proj(x)  # the steering site: input of down_proj
        if self.edit is not None:  # training's clamp of the style neurons, and steering checks
            a = self.edit(a)
        if record is not None:
            record.append(a)
        return self.down_proj(a)


class DecoderLayer(nn.Module):
    def __init__(self, c: Qwen3Config):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, cos, sin, mask, cache=None, record=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache)
        return x + self.mlp(self.post_attention_layernorm(x), record)


class Qwen3Model(nn.Module):
    def __init__(self, c: Qwen3Config):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class Qwen3ForCausalLM(nn.Module):
    def __init__(self, c: Qwen3Config):
        super().__init__()
        self.config = c
        self.model = Qwen3Model(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        if c.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def init_weights(self, std: float = 0.02):
        """HF's initializer (normal(0, initializer_range), norms at one), with residual outputs scaled down
        by sqrt(2 * layers) as GPT-2 does, which trains a small model faster from scratch."""
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                nn.init.ones_(p)
            else:
                scale = 1 / math.sqrt(2 * self.config.num_hidden_layers) if name.endswith(
                    ("o_proj.weight", "down_proj.weight")) else 1.0
                nn.init.normal_(p, 0.0, std * scale)

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                positions: torch.Tensor | None = None, cache: list | None = None,
                record: list | None = None, hidden_only: bool = False) -> torch.Tensor:
        """Logits (B, T, vocab) for ids (B, T).

        attention_mask: (B, past + T), 1 for real tokens, 0 for padding (optional).
        positions: (B, T) rotary positions; default past_len .. past_len + T - 1.
        cache: a list of [k, v] per layer (start with [[None, None]] * layers); grown in place.
        record: when a list, receives each layer's MLP intermediate (B, T, intermediate) in order.
        hidden_only: return the final-norm hidden states instead (training applies lm_head where there are targets).
        """
        b, t = ids.shape
        past = 0 if cache is None or cache[0][0] is None else cache[0][0].shape[2]
        if positions is None:
            positions = torch.arange(past, past + t, device=ids.device).expand(b, t)
        cos, sin = rotary_cos_sin(positions, self.config.head_dim, self.config.rope_theta)
        neg = torch.finfo(torch.float32).min
        causal = torch.ones(t, past + t, dtype=torch.bool, device=ids.device).tril(diagonal=past)
        allowed = causal[None, None].expand(b, 1, t, past + t)
        if attention_mask is not None:
            allowed = allowed & attention_mask[:, None, None, :].bool()
        mask = torch.zeros(allowed.shape, dtype=torch.float32, device=ids.device).masked_fill(~allowed, neg)
        x = self.model.embed_tokens(ids)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, mask, None if cache is None else cache[i], record)
        x = self.model.norm(x)
        return x if hidden_only else self.lm_head(x)

    def new_cache(self) -> list:
        return [[None, None] for _ in range(self.config.num_hidden_layers)]

    # ---- Hugging Face folder ----------------------------------------------------------------------------------
    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        sd = {k: v.detach().to(torch.float32).contiguous() for k, v in self.state_dict().items()}
        if self.config.tie_word_embeddings:
            sd.pop("lm_head.weight")  # HF stores tied weights once, under model.embed_tokens.weight
        return sd

    def load_hf_state_dict(self, sd: dict[str, torch.Tensor], source: str):
        expected = set(self.hf_state_dict())
        missing, extra = expected - set(sd), set(sd) - expected
        if missing or extra:
            raise ValueError(f"{source}: tensors missing {sorted(missing)[:5]}, unexpected {sorted(extra)[:5]}")
        own = self.state_dict()
        for name, tensor in sd.items():
            if tuple(tensor.shape) != tuple(own[name].shape):
                raise ValueError(f"{source}: tensor {name} has shape {list(tensor.shape)}, "
                                 f"config implies {list(own[name].shape)}")
        self.load_state_dict(sd, strict=False)


# ---- safetensors (written by hand: the `safetensors` package is not on Debian) ---------------------------------
_DTYPES = {torch.float32: ("F32", 4), torch.float16: ("F16", 2), torch.bfloat16: ("BF16", 2)}
_NAMES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def save_safetensors(tensors: dict[str, torch.Tensor], path: str, metadata: dict[str, str] | None = None):
    """8-byte little-endian header length, JSON header (names sorted, padded with spaces to 8 bytes), raw data."""
    header: dict = {"__metadata__": metadata or {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        code, size = _DTYPES[t.dtype]
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes()  # raw little-endian bytes (x86/ARM hosts)
        assert len(data) == t.numel() * size, name
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def load_safetensors(path: str) -> dict[str, torch.Tensor]:
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        buf = bytearray(data[base + start:base + end])
        t = torch.frombuffer(buf, dtype=torch.uint8).view(_NAMES[info["dtype"]]).reshape(info["shape"])
        out[name] = t.to(torch.float32)
    return out


def load_model(folder: str) -> Qwen3ForCausalLM:
    config = Qwen3Config.from_hf_json(os.path.join(folder, "config.json"))
    model = Qwen3ForCausalLM(config)
    path = os.path.join(folder, "model.safetensors")
    model.load_hf_state_dict(load_safetensors(path), path)
    model.eval()
    return model
