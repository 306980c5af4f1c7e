# Trusted side of AdaRas's code sandbox (see PythonSandbox.cs). Runs as the first program in the sandbox
# process: reads its settings as one JSON line on stdin, locks the process down, then runs the untrusted
# program in-process. Exit codes: 0 = program ran to the end (the pass marker is written), 1 = it raised,
# 3 = it called exit() before the end, 97 = the sandbox itself could not be set up (nothing untrusted ran).
import json
import os
import resource
import sys
import traceback

SETUP_FAILED = 97


def fail_setup(message):
    sys.stderr.write("sandbox setup failed: " + message + "\n")
    sys.stderr.flush()
    os._exit(SETUP_FAILED)


def libc():
    import ctypes
    return ctypes, ctypes.CDLL(None, use_errno=True)


def make_filesystem_read_only(writable):
    """Inside a private mount namespace: every mount read-only except a bind mount of the work folder."""
    ctypes, c = libc()
    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
    MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
    keep = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
            "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}
    c.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]

    def mount(source, target, flags):
        if c.mount(source, target, None, flags, None) != 0:
            return os.strerror(ctypes.get_errno())
        return None

    error = mount(writable.encode(), writable.encode(), MS_BIND)
    if error:
        fail_setup("bind mount of %s: %s" % (writable, error))
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split() for line in f]
    for fields in mounts:
        point = fields[4].encode().decode("unicode_escape")  # mountinfo escapes spaces as \040
        if point == writable:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in fields[5].split(","):
            flags |= keep.get(option, 0)
        error = mount(None, point.encode(), flags)
        if error and not point.startswith("/proc/"):
            fail_setup("read-only remount of %s: %s" % (point, error))


def no_new_privileges():
    """Setuid programs (sudo, su, mount) cannot regain privileges after this."""
    try:
        _, c = libc()
        c.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    except Exception:
        pass


def drop_privileges(uid, work, program):
    os.chown(work, uid, uid)
    os.chown(program, uid, uid)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    try:
        os.listdir(os.path.dirname(os.__file__))
    except OSError as e:
        fail_setup("the Python standard library at %s is not readable by uid %d (%s); use a system-wide "
                   "interpreter such as /usr/bin/python3" % (os.path.dirname(os.__file__), uid, e))


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


def install_guard(work):
    """A Python-level second layer (and the only network/file barrier where namespaces are unavailable):
    an audit hook refusing sockets, new processes, signals to others, ctypes, gc introspection, and writes
    outside the work folder. Audit hooks cannot be removed from Python code."""
    work_real = os.path.realpath(work)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    refused_prefixes = ("socket.", "subprocess.", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                        "os.forkpty", "os.system", "os.kill", "os.killpg", "signal.pthread_kill", "pty.",
                        "ctypes.", "gc.get_", "_posixsubprocess", "os.startfile", "webbrowser.", "urllib.",
                        "http.", "ftplib.", "smtplib.", "telnetlib.", "imaplib.", "poplib.", "nntplib.")
    path_events = {"os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.link": (0, 1),
                   "os.symlink": (1,), "os.chmod": (0,), "os.chown": (0,), "os.truncate": (0,), "os.utime": (0,),
                   "os.mkfifo": (0,), "os.mknod": (0,), "os.setxattr": (0,), "os.removexattr": (0,),
                   "os.chflags": (0,), "os.lchflags": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,),
                   "shutil.copytree": (1,), "shutil.move": (1,), "shutil.chown": (0,)}
    # Where each event passes the directory descriptor a relative path is resolved against (-1: none).
    dir_fd_positions = {"os.remove": {0: 1}, "os.rmdir": {0: 1}, "os.mkdir": {0: 2}, "os.chmod": {0: 2},
                        "os.chown": {0: 3}, "os.symlink": {1: 2}, "os.mkfifo": {0: 2}, "os.mknod": {0: 3},
                        "os.utime": {0: 3}, "os.rename": {0: 2, 1: 3}, "os.link": {0: 2, 1: 3}}

    def inside(path, dir_fd=None):
        if isinstance(path, int):
            return True  # an already-open descriptor: its opening was checked
        try:
            path = os.fsdecode(path)
            use_fd = isinstance(dir_fd, int) and dir_fd >= 0
            base = os.readlink("/proc/self/fd/%d" % dir_fd) if use_fd else work_real
            full = os.path.realpath(os.path.join(base, path))
        except Exception:
            return False
        return full == work_real or full.startswith(work_real + os.sep)

    def hook(event, args):
        if event.startswith(refused_prefixes):
            raise PermissionError("sandbox: %s is not allowed" % event)
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(ch in mode for ch in "wax+")) or \
                      (isinstance(flags, int) and flags & write_flags)
            if writing and not inside(path):
                raise PermissionError("sandbox: writing %r outside the work folder" % (path,))
            # A descriptor of an outside directory would let a relative dir_fd path escape the checks.
            if not isinstance(path, int) and not inside(path) and os.path.isdir(path):
                raise PermissionError("sandbox: opening directory %r outside the work folder" % (path,))
        elif event in path_events:
            fds = dir_fd_positions.get(event, {})
            for i in path_events[event]:
                dir_fd = args[fds[i]] if i in fds and fds[i] < len(args) else None
                if i < len(args) and args[i] is not None and not inside(args[i], dir_fd):
                    raise PermissionError("sandbox: %s on %r outside the work folder" % (event, args[i]))

    sys.addaudithook(hook)


def main():
    settings = json.loads(sys.stdin.readline())
    nonce = settings.pop("nonce").encode()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    try:
        os.setsid()  # own process group: the harness kills the whole group on timeout
    except OSError:
        pass

    work = os.path.realpath(settings["workdir"])
    program = os.path.join(work, settings["program"])
    with open(program, encoding="utf-8") as f:
        source = f.read()

    if settings.get("read_only_filesystem"):
        # Only ever inside the private mount namespace the harness created: never remount the host's mounts.
        if os.readlink("/proc/self/ns/mnt") == settings.get("host_mount_namespace"):
            fail_setup("not in a private mount namespace")
        make_filesystem_read_only(work)
    no_new_privileges()
    if settings.get("uid") is not None and os.geteuid() == 0:
        drop_privileges(int(settings["uid"]), work, program)
    os.chdir(work)
    os.environ.clear()
    os.environ.update({"HOME": work, "TMPDIR": work, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    sys.path[:] = [p for p in sys.path if p] + [work]

    marker = os.dup(1)  # the pass marker goes here even if the program closes or replaces stdout
    set_limits(settings.get("limits", {}))
    if settings.get("python_guard", True):
        install_guard(work)
    del settings

    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        code = compile(source, "program.py", "exec")
        del source
        exec(code, namespace)
    except SystemExit as e:
        sys.stderr.write("\nSystemExit(%r) before the tests finished\n" % (e.code,))
        sys.stderr.flush()
        os._exit(3)
    except BaseException:
        try:
            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(1)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    os.write(marker, b"\n" + nonce + b"\n")
    os._exit(0)  # skip atexit handlers and the wait for the program's non-daemon threads


main()
