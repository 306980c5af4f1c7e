# An independent EvalPlus-style scorer, the test oracle of CodeScoringOracleTests: written from EvalPlus's
# description (sanitize = the longest run of lines that parses as Python, reduced to the imports and the
# definitions the entry point reaches; every base and plus input; outputs compared with the canonical
# solution's: ==, float tolerance, EvalPlus's special oracles), sharing no code with the project's sandbox
# launcher or comparer. It runs the shipped Qwen3-32B answers (trusted repository data) without a sandbox:
# a process per problem, a forked child per answer, a time limit per call.
#
#   python3 independent_evalplus.py EVALPLUS_DIR ANSWERS.jsonl:DATASET[:ID_OFFSET] ... > verdicts.jsonl
#
# One line per answer: {"file", "line", "task_id", "base", "plus", "sanitized"}.
import ast
import copy
import gzip
import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap

PER_INPUT_SECONDS = 4.0  # EvalPlus's minimum time limit per input
SET_EQUAL = {"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly", "larg_nnum",
             "intersection_array", "find_dissimilar", "Diff"}
NOT_NONE = {"check_str", "text_match_three", "text_starta_endb"}


# ---- extraction -------------------------------------------------------------------------------------------

FENCE = re.compile(r"^([ \t]*)```[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)


def dedent_fences(text):
    """A fenced block indented as a list item is dedented (its body only), so it can parse."""
    return FENCE.sub(lambda m: "```\n" + textwrap.dedent(m.group(2)) + "```", text)


def parses(code):
    try:
        ast.parse(code)
        return True
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False


def longest_parsing_run(text):
    """The run of lines with the most non-blank lines that parses (ties: the first)."""
    lines = text.split("\n")
    n = len(lines)
    weight = [1 if l.strip() else 0 for l in lines]
    suffix = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        suffix[i] = suffix[i + 1] + weight[i]
    best, best_weight = "", 0
    for i in range(n):
        if suffix[i] <= best_weight:
            break  # nothing starting here can beat it
        if not weight[i]:
            continue
        # longest first: the first run that parses is the best one starting at i
        w = suffix[i]
        for j in range(n - 1, i - 1, -1):
            if w <= best_weight:
                break
            if weight[j] and parses("\n".join(lines[i:j + 1])):
                best, best_weight = "\n".join(lines[i:j + 1]), w
                break
            w -= weight[j]
    return best


def names_used(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def reduce_to_entry_point(code, entry_point):
    """Imports, and the top-level functions, classes and assignments the entry point reaches."""
    tree = ast.parse(code)
    defined = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        defined[n.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            defined[node.target.id] = node
    reached, todo = set(), [entry_point]
    while todo:
        name = todo.pop()
        if name in reached or name not in defined:
            continue
        reached.add(name)
        todo.extend(names_used(defined[name]))
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            keep.append(node)
        elif any(defined.get(name) is node for name in reached):
            keep.append(node)
    lines = code.split("\n")
    parts = []
    for node in keep:
        start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
        parts.append("\n".join(lines[start - 1:node.end_lineno]))
    return "\n\n".join(parts) + "\n"


def sanitize(text, entry_point):
    return reduce_to_entry_point(longest_parsing_run(dedent_fences(text)), entry_point)


# ---- running and comparing (in a child process per answer) ------------------------------------------------

def poly(xs, x):
    return sum(c * math.pow(x, i) for i, c in enumerate(xs))


def all_floats(x):
    return isinstance(x, float) or (isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(i, float) for i in x))


def close(out, exp, atol):
    a = list(out) if isinstance(out, (list, tuple)) else [out]
    b = list(exp) if isinstance(exp, (list, tuple)) else [exp]
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        try:
            x, y = float(x), float(y)
        except (TypeError, ValueError):
            return False
        if math.isnan(x) or math.isnan(y):
            return False
        if math.isinf(x) or math.isinf(y):
            if x != y:
                return False
        elif abs(x - y) > atol + 1e-7 * abs(y):
            return False
    return True


def same(dataset, entry_point, inp, out, exp, atol):
    try:
        if dataset == "humaneval" and entry_point == "find_zero":
            return abs(poly(*inp, out)) <= atol
        if dataset == "mbpp" and entry_point in SET_EQUAL:
            return set(out) == set(exp)
        if dataset == "mbpp" and entry_point in NOT_NONE:
            return out == exp if isinstance(out, bool) else exp == (out is not None)
        if out == exp:
            return True
        if atol == 0 and all_floats(exp):
            atol = 1e-6
        if atol != 0 and type(out) == type(exp) and all_floats(exp):
            return close(out, exp, atol)
        return False
    except Exception:
        return False


class Timeout(BaseException):
    pass


def on_alarm(*_):
    raise Timeout()


def load(source, entry_point):
    namespace = {}
    exec(compile(source, "<code>", "exec"), namespace)
    return namespace[entry_point]


def score(job, code, expected):
    """Base and plus verdicts of one answer (run in a forked child: its state cannot leak into the next)."""
    try:
        candidate = load(code, job["entry_point"])
    except BaseException:
        return {"base": False, "plus": False}
    verdict = {}
    for part in ("base", "plus"):
        ok = True
        for inp, exp in zip(job[part], expected[part]):
            try:
                signal.setitimer(signal.ITIMER_REAL, PER_INPUT_SECONDS)
                out = candidate(*copy.deepcopy(inp))
                signal.setitimer(signal.ITIMER_REAL, 0)
            except BaseException:
                signal.setitimer(signal.ITIMER_REAL, 0)
                ok = False
                break
            if not same(job["dataset"], job["entry_point"], inp, out, exp, job["atol"]):
                ok = False
                break
        verdict[part] = ok
    return verdict


def worker():
    """One problem: the canonical solution's outputs once, then each answer in a forked child."""
    job = json.loads(sys.stdin.read())
    sys.setrecursionlimit(10000)
    signal.signal(signal.SIGALRM, on_alarm)
    results = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    reference = load(job["canonical"], job["entry_point"])
    expected = {part: [reference(*copy.deepcopy(inp)) for inp in job[part]] for part in ("base", "plus")}
    verdicts = []
    for code in job["answers"]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            os.write(write, json.dumps(score(job, code, expected)).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as r:
            data = r.read()
        os.waitpid(pid, 0)
        verdicts.append(json.loads(data) if data else {"base": False, "plus": False})
    os.write(results, json.dumps(verdicts).encode())
    os._exit(0)


def final_content(text):
    return text.split("</think>")[-1]


def main():
    evalplus_dir = sys.argv[1]
    problems = {}
    for name, dataset in (("HumanEvalPlus-v0.1.10.jsonl.gz", "humaneval"), ("MbppPlus-767efcc.jsonl.gz", "mbpp")):
        with gzip.open(os.path.join(evalplus_dir, name), "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    p = json.loads(line)
                    p["dataset"] = dataset
                    problems[p["task_id"]] = p
    answers = {}  # task id -> [(file, line, sanitized)]
    for spec in sys.argv[2:]:
        path, dataset, offset = (spec.split(":") + ["0"])[:3]
        prefix = "HumanEval/" if dataset == "humaneval" else "Mbpp/"
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    row = json.loads(line)
                    task_id = prefix + str(int(row["id"]) + int(offset))
                    code = sanitize(final_content(row["answer_content"]), problems[task_id]["entry_point"])
                    answers.setdefault(task_id, []).append((os.path.basename(path), number, code))
    for task_id, rows in answers.items():
        p = problems[task_id]
        job = {"canonical": p["prompt"] + p["canonical_solution"], "entry_point": p["entry_point"],
               "base": p["base_input"], "plus": p["plus_input"] if isinstance(p["plus_input"], list) else [],
               "atol": float(p["atol"]), "dataset": p["dataset"], "answers": [code for _, _, code in rows]}
        run = subprocess.run([sys.executable, "-I", os.path.abspath(__file__), "--worker"], input=json.dumps(job),
                             capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            raise SystemExit("%s: worker failed: %s" % (task_id, run.stderr[-2000:]))
        for (file, number, code), verdict in zip(rows, json.loads(run.stdout)):
            print(json.dumps({"file": file, "line": number, "task_id": task_id, "base": verdict["base"],
                              "plus": verdict["base"] and verdict["plus"], "sanitized": code}))


if __name__ == "__main__":
    worker() if sys.argv[1:] == ["--worker"] else main()
