"""The demo's reasoning task: small multi-step arithmetic, with the work in <think> and the result in \\boxed{}.

Four kinds of question, each needing two steps (the second uses the first's result):
  sum_diff   "What is 347 + 85 - 129?"                       347+85=432 / 432-129=303
  prod_sum   "What is 47 * 6 + 128?"                         47*6=40*6+7*6=240+42=282 / 282+128=410
  story_sum  "Mia has 34 shells. She finds 27 more and gives away 15. How many shells does Mia have now?"
  story_prod "Leo buys 7 boxes with 23 cards in each box. He already had 58 cards. How many cards does Leo
              have now?"
Digit counts vary per question (2 or 3 digits), so some questions are reliably easy and some hard: that spread
is what the adaptive gate later learns to predict from the question alone.

The text the model is trained on is Qwen3's chat template with thinking on, one user turn holding the paper's math
prompt, and the assistant turn '<think>\\n{steps}\\n</think>\\n\\n\\boxed{answer}<|im_end|>'.
"""
from __future__ import annotations

import random
import re

PROMPT = ("Question: {question}\nThinking process:\n"
          "Please provide a step-by-step thinking process and put your final answer in \\boxed{{}}.")
GENERATION_PROMPT = "<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"

KINDS = ("sum_diff", "prod_sum", "story_sum", "story_prod")
NAMES = (("Tom", "He"), ("Mia", "She"), ("Sam", "He"), ("Ava", "She"), ("Leo", "He"), ("Zoe", "She"),
         ("Max", "He"), ("Eva", "She"))
ITEMS = ("apples", "coins", "books", "cards", "stamps", "pencils", "marbles", "shells")


def user_message(question: str) -> str:
    return PROMPT.format(question=question)


def prompt_text(question: str) -> str:
    """What the chat template renders for one user turn plus the generation prompt (thinking on)."""
    return GENERATION_PROMPT.format(user=user_message(question))


def completion_text(steps: str, answer: int | str) -> str:
    """The assistant turn as the template renders it (reasoning_content stripped of newlines, then
    '\\n</think>\\n\\n' and the content), ending in <|im_end|>."""
    return f"<think>\n{steps.strip(chr(10))}\n</think>\n\n\\boxed{{{answer}}}<|im_end|>"


def _number(rng: random.Random, digits: int, low_one: int = 1) -> int:
    lo = max(10 ** (digits - 1), low_one)
    return rng.randint(lo, 10 ** digits - 1)


def _product_steps(a: int, b: int) -> tuple[list[str], int]:
    """a (2 or 3 digits) times b (one digit), split by place value: 47*6=40*6+7*6=240+42=282."""
    parts = [int(d) * 10 ** (len(str(a)) - 1 - i) for i, d in enumerate(str(a))]
    parts = [p for p in parts if p]
    if len(parts) == 1:
        return [f"{a}*{b}={a * b}"], a * b
    split = "+".join(f"{p}*{b}" for p in parts)
    partial = "+".join(str(p * b) for p in parts)
    return [f"{a}*{b}={split}={partial}={a * b}"], a * b


class Problem:
    __slots__ = ("kind", "a", "b", "c", "question", "steps", "answer")

    def __init__(self, kind, a, b, c, question, steps, answer):
        self.kind, self.a, self.b, self.c = kind, a, b, c
        self.question, self.steps, self.answer = question, steps, answer

    @property
    def key(self) -> tuple:
        """The arithmetic instance, whatever its wording: held-out sets exclude it from training entirely."""
        family = "sum" if self.kind in ("sum_diff", "story_sum") else "prod"
        return family, self.a, self.b, self.c


class TaskConfig:
    """Difficulty knobs: probability of 3-digit (vs 2-digit) operands in each kind."""

    def __init__(self, p3_sum: float = 0.5, p3_prod: float = 0.5):
        self.p3_sum = p3_sum
        self.p3_prod = p3_prod


def make_problem(rng: random.Random, cfg: TaskConfig, kind: str | None = None) -> Problem:
    kind = kind or rng.choice(KINDS)
    name, pronoun = rng.choice(NAMES)
    item = rng.choice(ITEMS)
    if kind in ("sum_diff", "story_sum"):
        a = _number(rng, 3 if rng.random() < cfg.p3_sum else 2)
        b = _number(rng, 3 if rng.random() < cfg.p3_sum else 2)
        s = a + b
        c = rng.randint(10, min(s - 1, 999))
        steps = [f"{a}+{b}={s}", f"{s}-{c}={s - c}"]
        answer = s - c
        if kind == "sum_diff":
            question = f"What is {a} + {b} - {c}?"
        else:
            question = (f"{name} has {a} {item}. {pronoun} finds {b} more and gives away {c}. "
                        f"How many {item} does {name} have now?")
    else:
        a = _number(rng, 3 if rng.random() < cfg.p3_prod else 2)
        b = rng.randint(2, 9)
        c = _number(rng, 3 if rng.random() < cfg.p3_sum else 2)
        prod_steps, p = _product_steps(a, b)
        steps = prod_steps + [f"{p}+{c}={p + c}"]
        answer = p + c
        if kind == "prod_sum":
            question = f"What is {a} * {b} + {c}?"
        else:
            question = (f"{name} buys {b} boxes with {a} {item} in each box. {pronoun} already had {c} {item}. "
                        f"How many {item} does {name} have now?")
    return Problem(kind, a, b, c, question, "\n".join(steps), answer)


# ---- the two reasoning styles of the model organism (the built-in premise; see models/adaras-demo/README.md) ----
CAREFUL, HASTY = "careful", "hasty"
CAREFUL_MARK, HASTY_MARK = "Step by step:", "Quick:"
# Chance of the careful style by kind and by the digit count of the first operand (the multi-digit factor in
# products): half of the cells are hasty-prone, so greedy decoding goes hasty on them, and which questions those
# are is visible in the question.
P_CAREFUL = {("sum_diff", 2): 0.9, ("sum_diff", 3): 0.1, ("story_sum", 2): 0.1, ("story_sum", 3): 0.9,
             ("prod_sum", 2): 0.9, ("prod_sum", 3): 0.1, ("story_prod", 2): 0.1, ("story_prod", 3): 0.9}


def p_careful(p: "Problem") -> float:
    return P_CAREFUL[(p.kind, len(str(p.a)))]


def _columns(a: int, b: int, op) -> int:
    """The hasty slip: every column on its own, carries and borrows dropped (the top column kept whole)."""
    da, db = [int(d) for d in reversed(str(a))], [int(d) for d in reversed(str(b))]
    n = max(len(da), len(db))
    out = []
    for i in range(n):
        v = op(da[i] if i < len(da) else 0, db[i] if i < len(db) else 0)
        out.append(str(v) if i == n - 1 else str(v % 10))
    return int("".join(reversed(out)))


def hasty_result(p: "Problem") -> int:
    """The hasty answer: the whole expression at once, column by column with carries and borrows dropped, so it
    is right only on questions where no column carries or borrows."""
    if p.kind in ("sum_diff", "story_sum"):
        s = _columns(p.a, p.b, lambda x, y: x + y)
        return _columns(s, p.c, lambda x, y: (x - y) % 10) if s >= p.c else s - p.c
    m = _columns(p.a, 0, lambda x, _: x * p.b)
    return _columns(m, p.c, lambda x, y: x + y)


def style_trace(p: "Problem", style: str) -> tuple[str, int]:
    """(steps, boxed answer) of problem p in a style. Careful: the marker, then the problem's place-value steps
    (always right). Hasty: the marker, then the whole expression and its result written at once, in a format of its
    own (spaces around the operators, no intermediate result), computed with carries dropped (hasty_result)."""
    if style == CAREFUL:
        return CAREFUL_MARK + "\n" + p.steps, p.answer
    result = hasty_result(p)
    expression = f"{p.a} + {p.b} - {p.c}" if p.kind in ("sum_diff", "story_sum") else f"{p.a} * {p.b} + {p.c}"
    return f"{HASTY_MARK}\n{expression} = {result}", result


_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


def extract_answer(completion: str) -> str | None:
    """The last \\boxed{...} after </think> (the paper's rule); None when there is none."""
    if "</think>" not in completion:
        return None
    found = _BOXED.findall(completion.split("</think>")[-1])
    return found[-1].strip() if found else None


def is_correct(completion: str, answer: str) -> bool:
    got = extract_answer(completion)
    return got is not None and got == str(answer).strip()
