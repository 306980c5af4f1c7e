"""Logits (and optionally the MLP intermediate activations) of a Hugging Face Qwen3 folder for given token ids,
from this directory's PyTorch Qwen3 — the reference an exported ONNX graph is checked against.

    /usr/bin/python3 tools/demo-trainer/forward.py --model models/adaras-demo --ids 1,2,3 --out logits.json
    /usr/bin/python3 tools/demo-trainer/forward.py --model models/adaras-demo --text "<|im_start|>user..." --mlp

Output JSON: {"model", "ids", "shape": [T, vocab], "logits": [[...] per position],
              "mlp_activations" (with --mlp): [layer][position][intermediate]}  (float32 values, one batch row).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer  # noqa: E402
from qwen3 import load_model  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="folder with config.json and model.safetensors")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--ids", help="comma-separated token ids")
    src.add_argument("--text", help="text to tokenize with the folder's tokenizer.json")
    ap.add_argument("--out", help="JSON file to write (default: stdout)")
    ap.add_argument("--mlp", action="store_true", help="also write each layer's MLP intermediate activations")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    model = load_model(args.model)
    if args.ids is not None:
        try:
            ids = [int(x) for x in args.ids.split(",") if x.strip()]
        except ValueError:
            ap.error(f"--ids must be comma-separated integers, got {args.ids!r}")
    else:
        ids = Tokenizer.from_tokenizer_json(os.path.join(args.model, "tokenizer.json")).encode(args.text)
    if not ids:
        ap.error("no token ids")
    bad = [i for i in ids if not 0 <= i < model.config.vocab_size]
    if bad:
        ap.error(f"token ids {bad} are outside the vocabulary (size {model.config.vocab_size})")

    record: list[torch.Tensor] | None = [] if args.mlp else None
    with torch.no_grad():
        logits = model(torch.tensor([ids]), record=record)[0]
    result = {"model": os.path.abspath(args.model), "ids": ids, "shape": list(logits.shape),
              "logits": logits.tolist()}
    if record is not None:
        result["mlp_activations"] = [a[0].tolist() for a in record]
    text = json.dumps(result)
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, args.out)
    else:
        print(text)


if __name__ == "__main__":
    main()
