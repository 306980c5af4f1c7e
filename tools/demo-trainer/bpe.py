"""Byte-level BPE tokenizer in Qwen's Hugging Face `tokenizer.json` form: train, save, load, encode, decode.

The pipeline is the one Hugging Face `tokenizers` runs for Qwen3's tokenizer.json, so the C# engine (which reads the
same file) gets the same ids:
  1. split out added tokens (<|im_start|> ...) verbatim, before anything else;
  2. NFC-normalize the rest;
  3. pre-tokenize with Qwen's Split regex (behavior "Isolated": every match is a piece, gaps too);
  4. map each piece's UTF-8 bytes to the GPT-2 byte-level alphabet (ByteLevel, use_regex=false);
  5. BPE each piece: repeatedly merge the adjacent pair with the lowest merge rank.
Decoding maps the byte-level symbols back to bytes (ByteLevel decoder).

Qwen's regex uses \\p{L} / \\p{N}. The `regex` module (Debian: python3-regex) matches it exactly; without it we fall
back to an ASCII transcription (\\p{L} -> [A-Za-z], \\p{N} -> [0-9]) that is exact for ASCII text only, and refuse
non-ASCII input rather than tokenize it differently from the engine.
"""
from __future__ import annotations

import collections
import json
import unicodedata

try:
    import regex as _re_unicode
except ImportError:  # pragma: no cover - depends on the machine
    _re_unicode = None
import re as _re_ascii

# The pre-tokenizer pattern of Qwen2/Qwen3's tokenizer.json, character for character.
QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
# The same pattern with \p{L} -> A-Za-z and \p{N} -> 0-9 (bare classes bracketed): exact for ASCII text.
_ASCII_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")

if _re_unicode is not None:
    _PRETOKENIZE = _re_unicode.compile(QWEN_PATTERN)
else:
    _PRETOKENIZE = _re_ascii.compile(_ASCII_PATTERN)
_PRETOKENIZE_ASCII = _re_ascii.compile(_ASCII_PATTERN)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (the ByteLevel alphabet)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}

# Added tokens in id order after the BPE vocabulary. As in the real Qwen3 tokenizer, the chat markers are
# special=true and the thinking tags are special=false (so decoding with skip_special_tokens keeps <think>).
ADDED_TOKENS = [
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<think>", False),
    ("</think>", False),
]


def pretokenize(text: str) -> list[str]:
    if _re_unicode is None and not text.isascii():
        raise ValueError("the `regex` module is missing and the text is not ASCII; install python3-regex")
    return _PRETOKENIZE.findall(text)


def to_byte_level(piece: str) -> str:
    return "".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8"))


class Tokenizer:
    def __init__(self, merges: list[tuple[str, str]]):
        # ids 0..255: the byte-level symbol of byte b has id b; then one id per merge result; then added tokens.
        self.vocab: dict[str, int] = {BYTE_TO_CHAR[b]: b for b in range(256)}
        self.merges = list(merges)
        self.ranks = {pair: i for i, pair in enumerate(self.merges)}
        for a, b in self.merges:
            merged = a + b
            if a not in self.vocab or b not in self.vocab:
                raise ValueError(f"merge {a!r} {b!r} uses a symbol not in the vocabulary")
            if merged in self.vocab:
                raise ValueError(f"merge {a!r} {b!r} yields {merged!r}, already in the vocabulary")
            self.vocab[merged] = len(self.vocab)
        self.added: dict[str, int] = {}
        for content, _ in ADDED_TOKENS:
            self.added[content] = len(self.vocab) + len(self.added)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.id_to_token.update({i: t for t, i in self.added.items()})
        self._added_split = _re_ascii.compile(
            "(" + "|".join(_re_ascii.escape(t) for t in sorted(self.added, key=len, reverse=True)) + ")")
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + len(self.added)

    def token_id(self, content: str) -> int:
        return self.added[content] if content in self.added else self.vocab[content]

    # ---- encoding -------------------------------------------------------------------------------------------
    def _bpe(self, piece: str) -> list[int]:
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        symbols = list(to_byte_level(piece))
        while len(symbols) > 1:
            best = None
            for i in range(len(symbols) - 1):
                rank = self.ranks.get((symbols[i], symbols[i + 1]))
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, i)
            if best is None:
                break
            a, b = self.merges[best[0]]
            out, i = [], 0
            while i < len(symbols):  # merge every non-overlapping occurrence, left to right
                if i < len(symbols) - 1 and symbols[i] == a and symbols[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            symbols = out
        ids = [self.vocab[s] for s in symbols]
        self._cache[piece] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for part in self._added_split.split(text):
            if not part:
                continue
            if part in self.added:
                ids.append(self.added[part])
                continue
            for piece in pretokenize(unicodedata.normalize("NFC", part)):
                ids.extend(self._bpe(piece))
        return ids

    def decode(self, ids: list[int], skip_special: bool = False) -> str:
        special = {c for c, s in ADDED_TOKENS if s}
        out, pending = [], bytearray()
        for i in ids:
            tok = self.id_to_token[i]
            if tok in self.added:
                out.append(pending.decode("utf-8", errors="replace"))
                pending = bytearray()
                if not (skip_special and tok in special):
                    out.append(tok)
            else:
                pending.extend(CHAR_TO_BYTE[c] for c in tok)
        out.append(pending.decode("utf-8", errors="replace"))
        return "".join(out)

    # ---- files ----------------------------------------------------------------------------------------------
    def to_tokenizer_json(self) -> dict:
        added = [{"id": self.added[c], "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": s} for c, s in ADDED_TOKENS]
        byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN_PATTERN}, "behavior": "Isolated", "invert": False},
                byte_level]},
            "post_processor": dict(byte_level),
            "decoder": dict(byte_level),
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": self.vocab, "merges": [[a, b] for a, b in self.merges]},
        }

    @staticmethod
    def from_tokenizer_json(path: str) -> "Tokenizer":
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in d["model"]["merges"]]
        tok = Tokenizer(merges)
        if tok.vocab != d["model"]["vocab"]:
            raise ValueError(f"{path}: vocabulary does not follow this tokenizer's layout (bytes, merges)")
        for entry in d["added_tokens"]:
            if tok.added.get(entry["content"]) != entry["id"]:
                raise ValueError(f"{path}: added token {entry['content']!r} has id {entry['id']}, "
                                 f"expected {tok.added.get(entry['content'])}")
        return tok


def train_bpe(texts: list[str], num_merges: int, min_frequency: int = 2) -> Tokenizer:
    """Learn merges on the pre-tokenized corpus (added tokens removed), most frequent pair first.

    Ties break on the pair's strings, so the result depends only on the corpus.
    """
    splitter = _re_ascii.compile("(" + "|".join(_re_ascii.escape(c) for c, _ in ADDED_TOKENS) + ")")
    word_freq: collections.Counter[str] = collections.Counter()
    for text in texts:
        for part in splitter.split(text):
            if part and part not in dict(ADDED_TOKENS):
                for piece in pretokenize(unicodedata.normalize("NFC", part)):
                    word_freq[to_byte_level(piece)] += 1
    words = [(list(w), f) for w, f in sorted(word_freq.items())]
    merges: list[tuple[str, str]] = []
    for _ in range(num_merges):
        pairs: collections.Counter[tuple[str, str]] = collections.Counter()
        for symbols, f in words:
            for i in range(len(symbols) - 1):
                pairs[(symbols[i], symbols[i + 1])] += f
        if not pairs:
            break
        pair, freq = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if freq < min_frequency:
            break
        merges.append(pair)
        a, b = pair
        for symbols, _ in words:
            i = 0
            while i < len(symbols) - 1:
                if symbols[i] == a and symbols[i + 1] == b:
                    symbols[i:i + 2] = [a + b]
                i += 1
    return Tokenizer(merges)
