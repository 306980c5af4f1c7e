# Trusted comparer of AdaRas's code scoring (see OutputComparer.cs). It never runs or imports model-written
# code: it reads the tagged-JSON results a sandboxed run printed and compares them with the canonical
# solution's, with EvalPlus's rules (evalplus/eval/__init__.py unsafe_execute: exact ==, special oracles, then
# atol/rtol=1e-7 with the same type and length for floats). One JSON request per line, one answer per line.
import json
import math
import sys

sys.setrecursionlimit(5000)

try:
    import numpy
except Exception:  # numpy missing: the same rule, element by element
    numpy = None

MBPP_OUTPUT_SET_EQ_TASKS = {"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
                            "larg_nnum", "intersection_array", "find_dissimilar", "Diff"}
MBPP_OUTPUT_NOT_NONE_TASKS = {"check_str", "text_match_three", "text_starta_endb"}


def decode(v):
    """The inverse of the launcher's encode. Plain JSON numbers keep Python's default limit on decimal digits
    (4300), so a hostile result cannot make int() parsing take quadratic time; huge ints come as hex."""
    if v is None or type(v) in (bool, int, float, str):
        return v
    if type(v) is list:
        return [decode(i) for i in v]
    if type(v) is not dict or len(v) != 1:
        raise ValueError("not an encoded value")
    (tag, x), = v.items()
    if tag == "int":
        return int(x, 16)
    if tag == "float":
        return float(x)
    if tag == "tuple":
        return tuple(decode(i) for i in x)
    if tag == "set":
        return set(decode(i) for i in x)
    if tag == "frozenset":
        return frozenset(decode(i) for i in x)
    if tag == "dict":
        return {decode(k): decode(val) for k, val in x}
    if tag == "complex":
        return complex(float(x[0]), float(x[1]))
    if tag == "bytes":
        return bytes.fromhex(x)
    raise ValueError("unknown tag")


def is_floats(x):
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(i, float) for i in x)
    return False


def allclose(out, exp, rtol, atol):
    if numpy is not None:
        return bool(numpy.allclose(out, exp, rtol=rtol, atol=atol))
    a = list(out) if isinstance(out, (list, tuple)) else [out]
    b = list(exp) if isinstance(exp, (list, tuple)) else [exp]
    if len(a) != len(b) and len(a) != 1 and len(b) != 1:
        raise ValueError("shapes differ")
    if len(a) == 1:
        a = a * len(b)
    if len(b) == 1:
        b = b * len(a)
    for x, y in zip(a, b):
        x, y = float(x), float(y)
        if math.isinf(x) or math.isinf(y):
            if x != y:
                return False
        elif not abs(x - y) <= atol + rtol * abs(y):
            return False
    return True


def _poly(xs, x):
    return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])


def _surface_Area(base_edge, height):
    slant_height = math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 4 * (base_edge * slant_height) / 2)


def _digit_distance_nums(num1, num2):
    a, b = str(num1), str(num2)
    width = max(len(a), len(b))
    return sum(abs(int(x) - int(y)) for x, y in zip(a.zfill(width), b.zfill(width)))


def compare(req):
    dataset, entry_point = req["dataset"], req["entry_point"]
    atol = float(req["atol"])
    inputs = json.loads(req["inputs_json"]) if req.get("inputs_json") else None
    details = []
    for i, exp_raw in enumerate(req["expected"]):
        rec = req["outputs"][i] if i < len(req["outputs"]) else None
        try:
            if not isinstance(rec, dict) or "out" not in rec:
                raise ValueError("no result")
            out, exp = decode(rec["out"]), decode(exp_raw)
            exact_match = out == exp
            if dataset == "mbpp":
                inp = inputs[i] if inputs is not None else None
                if entry_point == "are_equivalent":
                    exact_match = True
                elif entry_point == "sum_div":
                    exact_match = exact_match or out == 0
                elif entry_point == "surface_Area":
                    exact_match = exact_match or abs(out - _surface_Area(*inp)) <= atol
                elif entry_point == "digit_distance_nums":
                    exact_match = exact_match or out == _digit_distance_nums(*inp)
                elif entry_point in MBPP_OUTPUT_SET_EQ_TASKS:
                    exact_match = set(out) == set(exp)
                elif entry_point in MBPP_OUTPUT_NOT_NONE_TASKS:
                    # the run already reduced the candidate's value to "is not None" unless it was a bool
                    exact_match = out == exp
            if dataset == "humaneval" and entry_point == "find_zero":
                if not abs(_poly(*inputs[i], out)) <= atol:
                    raise AssertionError()
                details.append(True)
                continue
            if atol == 0 and is_floats(exp):
                atol = 1e-6  # EvalPlus keeps this for the task's later inputs too
            if not exact_match and atol != 0:
                if type(out) != type(exp):
                    raise AssertionError()
                if isinstance(exp, (list, tuple)) and len(out) != len(exp):
                    raise AssertionError()
                if not allclose(out, exp, 1e-07, atol):
                    raise AssertionError()
            elif not exact_match:
                raise AssertionError()
            details.append(True)
        except BaseException:
            details.append(False)
    return details


def main():
    for line in sys.stdin:
        try:
            answer = {"details": compare(json.loads(line))}
        except BaseException as e:
            answer = {"error": "%s: %s" % (type(e).__name__, str(e)[:200])}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


main()
