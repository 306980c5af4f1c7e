# Trusted first program of AdaRas's code sandbox (see PythonSandbox.cs). It runs inside the OS sandbox
# (bubblewrap namespaces, an unprivileged uid), reads one job as a JSON line on stdin, closes the process to
# new processes, sockets and signals to others with a seccomp filter, sets rlimits, and only then touches
# untrusted code. It never decides a verdict: in "function" mode it prints each call's result as tagged JSON
# and a trusted comparer outside this process compares them with expected outputs it never sees.
#
# Modes:
#   program   run the file as a script (a plain program; no verdict beyond the exit code)
#   function  [sanitize the model's text,] exec the code (not as __main__), call the entry point on each input
#   reference like function, for several trusted canonical solutions in turn, with timings (expected outputs)
# Exit codes: 0 = ran to the end, 1 = raised, 3 = exit() before the end, 97 = sandbox setup failed. The first
# bytes on stderr are READY once the sandbox is set up; without them the harness reports a setup failure.
import ast
import copy
import ctypes
import io
import json
import keyword
import os
import re
import resource
import signal
import struct
import sys
import time
import tokenize
import traceback

SETUP_FAILED = 97
READY = b"adaras-sandbox-ready\n"
sys.setrecursionlimit(10000)


def fail_setup(message):
    sys.stderr.write("sandbox setup failed: " + message + "\n")
    sys.stderr.flush()
    os._exit(SETUP_FAILED)


# ---------------------------------------------------------------- seccomp: no new processes, no sockets

# (AUDIT_ARCH, {name: number}) per machine; x86_64 also refuses the x32 ABI (numbers >= 0x40000000).
_ARCHES = {
    "x86_64": (0xC000003E, dict(fork=57, vfork=58, execve=59, execveat=322, socket=41, ptrace=101,
                                process_vm_readv=310, process_vm_writev=311, kill=62, tkill=200, tgkill=234,
                                rt_sigqueueinfo=129, rt_tgsigqueueinfo=297, pidfd_open=434,
                                pidfd_send_signal=424, pidfd_getfd=438, io_uring_setup=425, io_uring_enter=426,
                                io_uring_register=427, bpf=321, perf_event_open=298, userfaultfd=323,
                                keyctl=250, add_key=248, request_key=249, mount=165, umount2=166, unshare=272,
                                setns=308, pivot_root=155, chroot=161, open_by_handle_at=304,
                                name_to_handle_at=303, clone=56, clone3=435)),
    "aarch64": (0xC00000B7, dict(execve=221, execveat=281, socket=198, ptrace=117, process_vm_readv=270,
                                 process_vm_writev=271, kill=129, tkill=130, tgkill=131, rt_sigqueueinfo=138,
                                 rt_tgsigqueueinfo=240, pidfd_open=434, pidfd_send_signal=424, pidfd_getfd=438,
                                 io_uring_setup=425, io_uring_enter=426, io_uring_register=427, bpf=280,
                                 perf_event_open=241, userfaultfd=282, keyctl=219, add_key=217,
                                 request_key=218, mount=40, umount2=39, unshare=97, setns=268, pivot_root=41,
                                 chroot=51, open_by_handle_at=265, name_to_handle_at=264, clone=220, clone3=435)),
}


def install_seccomp():
    """One process for good: fork/vfork/exec refused, clone allowed only for threads (so RLIMIT_AS bounds
    the whole tree), no sockets (socketpair stays), signals only to itself, no ptrace, no io_uring (it
    would bypass the filter), no namespace or mount changes. Unknown machine: refuse to run."""
    machine = os.uname().machine
    if machine not in _ARCHES:
        fail_setup("no seccomp filter for machine %s" % machine)
    arch, nr = _ARCHES[machine]
    ld_abs, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    allow, kill_process = 0x7FFF0000, 0x80000000
    eperm, enosys = 0x00050000 | 1, 0x00050000 | 38
    me = os.getpid()
    prog = [(ld_abs, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill_process), (ld_abs, 0, 0, 0)]
    if machine == "x86_64":
        prog += [(jge, 0, 1, 0x40000000), (ret, 0, 0, enosys)]
    for name in ("fork", "vfork", "execve", "execveat", "socket", "ptrace", "process_vm_readv",
                 "process_vm_writev", "tkill", "rt_sigqueueinfo", "pidfd_open", "pidfd_send_signal",
                 "pidfd_getfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf",
                 "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "mount", "umount2",
                 "unshare", "setns", "pivot_root", "chroot", "open_by_handle_at", "name_to_handle_at"):
        if name in nr:
            prog += [(jeq, 0, 1, nr[name]), (ret, 0, 0, eperm)]
    prog += [(jeq, 0, 1, nr["clone3"]), (ret, 0, 0, enosys)]  # glibc falls back to clone for threads
    # clone: only with CLONE_THREAD (a thread shares the address space and its RLIMIT_AS)
    prog += [(jeq, 0, 4, nr["clone"]), (ld_abs, 0, 0, 16), (jset, 0, 1, 0x00010000), (ret, 0, 0, allow),
             (ret, 0, 0, eperm)]
    # kill / tgkill / rt_tgsigqueueinfo: only this process (pid 0 and -pid would reach others)
    for name in ("kill", "tgkill", "rt_tgsigqueueinfo"):
        prog += [(jeq, 0, 4, nr[name]), (ld_abs, 0, 0, 16), (jeq, 0, 1, me), (ret, 0, 0, allow),
                 (ret, 0, 0, eperm)]
    prog += [(ret, 0, 0, allow)]

    raw = b"".join(struct.pack("=HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Fprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(38, 1, None, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        fail_setup("PR_SET_NO_NEW_PRIVS: " + os.strerror(ctypes.get_errno()))
    if libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        fail_setup("seccomp filter: " + os.strerror(ctypes.get_errno()))


def set_limits(limits):
    def cap(which, value):
        if value is None:
            return
        soft, hard = resource.getrlimit(which)
        value = int(value)
        if hard != resource.RLIM_INFINITY and value > hard:
            value = hard
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_FSIZE, limits.get("file_bytes"))
    cap(resource.RLIMIT_NOFILE, limits.get("open_files"))
    cap(resource.RLIMIT_NPROC, limits.get("processes"))
    cpu = limits.get("cpu_seconds")
    if cpu is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 1))
    cap(resource.RLIMIT_AS, limits.get("memory_bytes"))


# ---------------------------------------------------------------- sanitize (EvalPlus's rules, with ast)

_ANSI = re.compile(r"\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])")


def _parses(code):
    try:
        ast.parse(code)
        return True
    except (SyntaxError, MemoryError, ValueError, RecursionError):
        return False


def code_extract(text):
    """The run of at least two lines with the most non-blank lines that parses as Python; ties go to the
    earliest start, then the earliest end (EvalPlus scans i < j and keeps strictly longer runs). Spans
    are tried longest first, so the answer is the same without parsing every span."""
    text = _ANSI.sub("", text)
    lines = text.split("\n")
    n = len(lines)
    nonblank = [0] * (n + 1)
    for k, line in enumerate(lines):
        nonblank[k + 1] = nonblank[k] + (1 if line.strip() else 0)
    spans = sorted(((nonblank[j + 1] - nonblank[i], i, j) for i in range(n) for j in range(i + 1, n)),
                   key=lambda s: (-s[0], s[1], s[2]))
    for count, i, j in spans:
        if count <= 0:
            break
        if _parses("\n".join(lines[i:j + 1])):
            return "\n".join(lines[i:j + 1])
    return "\n".join(lines[0:1])


def _identifiers(source):
    names = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME and not keyword.iskeyword(tok.string):
                names.add(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return names


def _assignment_name(node):
    # tree-sitter's first identifier child of the assignment: a plain target, else a plain value
    for part in list(getattr(node, "targets", [])) + [getattr(node, "target", None), node.value]:
        if isinstance(part, ast.Name):
            return part.id
    return None


def extract_target_code_or_empty(text, entry_point):
    code = code_extract(text)
    try:
        tree = ast.parse(code)
    except (SyntaxError, MemoryError, ValueError, RecursionError):
        return ""
    imports, definitions, taken = [], [], set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
        elif isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.decorator_list:
                continue  # tree-sitter sees a decorated_definition, which EvalPlus's sanitize drops
            is_function = not isinstance(node, ast.ClassDef)
            if node.name in taken or (is_function and not any(isinstance(x, ast.Return) for x in ast.walk(node))):
                continue
            definitions.append((node.name, node))
            taken.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            name = _assignment_name(node)
            if name not in taken:
                definitions.append((name, node))
                taken.add(name)
    segment = lambda node: ast.get_source_segment(code, node) or ""
    reachable = None
    if entry_point:
        deps = {name: _identifiers(segment(node)) for name, node in definitions}
        reachable, queue = {entry_point}, [entry_point]
        while queue:
            for neighbour in deps.get(queue.pop(0), ()):
                if neighbour not in reachable:
                    reachable.add(neighbour)
                    queue.append(neighbour)
    out = [segment(node) for node in imports]
    out += [segment(node) for name, node in definitions if reachable is None or name in reachable]
    return "\n".join(out)


def sanitize(text, entry_point):
    code = extract_target_code_or_empty(text, entry_point).strip()
    return code if code else code_extract(text)


# ---------------------------------------------------------------- inputs (EvalPlus's MBPP+ deserialisation)

def _tuples(x):
    return tuple(_tuples(i) for i in x) if isinstance(x, list) else x


def mbpp_inputs(task_id, inputs):
    t = int(task_id.split("/")[-1])
    if t in (2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740,
             744, 809):
        return [[tuple(lst) for lst in inp] for inp in inputs]
    if t in (63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780):
        return [[[tuple(lst) for lst in lst_lst] for lst_lst in inp] for inp in inputs]
    if t in (75, 413, 444, 753):
        return [[[tuple(lst) for lst in inp[0]]] + [inp[1]] for inp in inputs]
    if t in (106, 750):
        return [[inp[0]] + [tuple(inp[1])] for inp in inputs]
    if t == 115:
        return [[[set(item) if isinstance(item, list) and len(item) else {} for item in inp[0]]] for inp in inputs]
    if t == 124:
        return [(float(inp[0]), complex(inp[1])) for inp in inputs]
    if t in (250, 405, 446, 617, 720, 763, 808):
        return [[tuple(inp[0])] + [inp[1]] for inp in inputs]
    if t in (259, 401, 445):
        inputs = [[[tuple(lst) for lst in lst_lst] for lst_lst in inp] for inp in inputs]
        return [[tuple(lst) for lst in inp] for inp in inputs]
    if t == 278:
        inputs = [[[tuple(item) if isinstance(item, list) else item for item in inp[0]]] for inp in inputs]
        return [[tuple(lst) for lst in inp] for inp in inputs]
    if t == 307:
        return [[tuple(inp[0])] + [inp[1], inp[2]] for inp in inputs]
    if t == 722:
        return [[{k: tuple(v) for k, v in inp[0].items()}] + inp[1:] for inp in inputs]
    if t == 252:
        return [[complex(inp[0])] for inp in inputs]
    if t in (580, 615, 791):
        return [_tuples(inp) for inp in inputs]
    return inputs


def load_inputs(path, task_id):
    with open(path, encoding="utf-8") as f:
        inputs = json.load(f)
    return mbpp_inputs(task_id, inputs) if task_id.startswith("Mbpp/") else inputs


# ---------------------------------------------------------------- results as tagged JSON (data only)

class Unencodable(Exception):
    pass


_SMALL_INT = 10 ** 300


def encode(x, depth=0):
    """Python values as JSON: None, bool, str, float (Python's json keeps 1.0 apart from 1 and writes inf/nan)
    (finite: .NET reads the lines too) and ints below 10**300 as themselves, lists as arrays; everything else as a one-key object naming its type
    ({"tuple": [...]}, {"dict": [[k, v], ...]}, {"int": hex} for huge ints, ...)."""
    if depth > 200:
        raise Unencodable("nested too deeply")
    t = type(x)
    if x is None or t is bool or t is str:
        return x
    if t is float:
        return x if x == x and x not in (float("inf"), float("-inf")) else {"float": repr(x)}
    if t is int:
        return x if -_SMALL_INT < x < _SMALL_INT else {"int": hex(x)}  # hex: linear, no digit limit
    if t is list:
        return [encode(i, depth + 1) for i in x]
    if t is tuple:
        return {"tuple": [encode(i, depth + 1) for i in x]}
    if t in (set, frozenset):
        items = [encode(i, depth + 1) for i in x]
        items.sort(key=lambda v: json.dumps(v, sort_keys=True))
        return {t.__name__: items}
    if t is dict:
        return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in x.items()]}
    if t is complex:
        return {"complex": [repr(x.real), repr(x.imag)]}
    if t is bytes:
        return {"bytes": x.hex()}
    if t.__module__ == "numpy" and hasattr(x, "item") and getattr(x, "shape", None) == ():
        return encode(x.item(), depth)  # numpy scalars compare as their Python value
    # Anything else (a class with a custom __eq__ could claim equality with every expected value) fails.
    raise Unencodable("result of type %s" % t.__name__)


class CallTimeout(BaseException):
    pass


def _alarm(signum, frame):
    raise CallTimeout()


def call_all(fn, inputs, limits, emit, not_none=None):
    """not_none: EvalPlus's MBPP tasks compared as "is not None": "reference" reduces every value,
    "candidate" every value but a bool (which is compared as it is)."""
    signal.signal(signal.SIGALRM, _alarm)
    for i, inp in enumerate(inputs):
        started = time.perf_counter()
        try:
            signal.setitimer(signal.ITIMER_REAL, limits[i] if limits else 0)
            try:
                out = fn(*inp)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if not_none == "reference" or (not_none == "candidate" and type(out) is not bool):
                out = out is not None
            record = {"i": i, "out": encode(out)}
        except CallTimeout:
            record = {"i": i, "error": "timeout"}
        except BaseException as e:  # the candidate's own exceptions, SystemExit included
            record = {"i": i, "error": type(e).__name__ if isinstance(type(e).__name__, str) else "error"}
        record["t"] = time.perf_counter() - started
        emit(record)


def run_function(job, emit, silence):
    source = job["source"]
    entry_point = job["entry_point"]
    if job.get("sanitize"):
        source = sanitize(source, entry_point)
        emit({"sanitized": source})
    inputs = {part: load_inputs(job[part + "_inputs"], job["task_id"]) for part in ("base", "plus")}
    namespace = {}  # as EvalPlus: no __name__ == "__main__" here, so demo blocks under that guard do not run
    with silence():
        try:
            exec(compile(source, "solution.py", "exec"), namespace)
            fn = namespace[entry_point]
        except BaseException as e:
            emit({"load_error": "%s: %s" % (type(e).__name__, str(e)[:200])})
            return
        emit({"loaded": True})
        for part in ("base", "plus"):
            emit({"part": part})
            call_all(fn, inputs[part], job.get(part + "_time_limits"), emit,
                     "candidate" if job.get("output_not_none") else None)
    emit({"done": True})


def run_reference(job, emit, silence):
    """Trusted canonical solutions, one after another in this process (EvalPlus's trusted_exec)."""
    with silence():
        for task in job["tasks"]:
            emit({"task": task["task_id"]})
            namespace = {}
            exec(compile(task["source"], task["task_id"], "exec"), namespace)
            fn = namespace[task["entry_point"]]
            for part in ("base", "plus"):
                emit({"part": part})
                inputs = load_inputs(task[part + "_inputs"], task["task_id"])
                copies = [copy.deepcopy(inp) for inp in inputs]
                call_all(fn, copies, None, emit, "reference" if task.get("output_not_none") else None)
    emit({"done": True})


def main():
    job = json.loads(sys.stdin.readline())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.chdir(job.get("workdir", "."))
    os.environ.clear()
    os.environ.update({"HOME": os.getcwd(), "TMPDIR": os.getcwd(), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    sys.path[:] = [p for p in sys.path if p] + [os.getcwd()]
    if job.get("seccomp", True):
        install_seccomp()
    set_limits(job.get("limits", {}))
    # Set up: from here on, whatever happens is the code's doing (the harness reads no setup failure after this).
    os.write(2, READY)

    mode = job["mode"]
    if mode == "program":
        with open(job["program"], encoding="utf-8") as f:
            source = f.read()
        del job
        try:
            exec(compile(source, "program.py", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        except SystemExit as e:
            sys.stderr.write("\nSystemExit(%r) before the end\n" % (e.code,))
            sys.stderr.flush()
            os._exit(3)
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(1)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    # Results go to a private copy of stdout; the code's own prints go to stderr (kept short by the harness).
    results = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1 << 16)
    os.dup2(2, 1)

    def emit(record):
        results.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
        if "i" not in record:
            results.flush()

    class silence:
        def __enter__(self):
            sys.stdin = io.StringIO()  # input() raises EOFError, as in EvalPlus's swallow_io

        def __exit__(self, *exc):
            return False

    try:
        (run_function if mode == "function" else run_reference)(job, emit, silence)
        results.flush()
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        try:
            results.flush()
        finally:
            os._exit(1)
    os._exit(0)


main()
