using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AdaRas.Evaluation.Code;

/// <summary>How a program is isolated from the machine.</summary>
internal enum SandboxIsolation
{
    /// <summary><see cref="Bubblewrap"/> where it works; otherwise a <see cref="SandboxSetupException"/>, unless
    /// weak isolation was opted into (then <see cref="ProcessOnly"/>, with a warning on stderr).</summary>
    Auto,
    /// <summary>
    /// bubblewrap (Debian's <c>bubblewrap</c>): new user, PID, network, IPC, UTS and mount namespaces; only
    /// <c>/usr</c> (read-only) and the work folder are visible; a fresh <c>/proc</c>; an empty environment;
    /// every process dies with the namespace. As root it first drops to a fresh unprivileged uid
    /// (<c>setpriv</c>), so the sandbox is another user than the harness; without root it works where
    /// unprivileged user namespaces are enabled.
    /// </summary>
    Bubblewrap,
    /// <summary>
    /// No namespaces: the seccomp filter and rlimits, and (as root only) a fresh uid. The program can read the
    /// machine's files and, without root, write wherever the harness can. Opt-in only.
    /// </summary>
    ProcessOnly,
}

/// <summary>Limits of one sandboxed run. The defaults suit HumanEval/MBPP tests.</summary>
internal sealed record SandboxLimits
{
    /// <summary>Wall-clock limit; the sandbox is killed when it passes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>RLIMIT_AS of the one process the seccomp filter allows: the memory of the whole tree.</summary>
    public long MemoryBytes { get; init; } = 4L << 30; // EvalPlus's default
    /// <summary>RLIMIT_NPROC for the sandbox's fresh uid (root harness only; threads count too).</summary>
    public int MaxProcesses { get; init; } = 64;
    /// <summary>RLIMIT_FSIZE: largest file the program may write.</summary>
    public long MaxFileBytes { get; init; } = 16L << 20;
    /// <summary>Size of the work folder, a tmpfs under bubblewrap: all the program's files together (its data
    /// pages; a file count is bounded by the time limit only). Not enforced by the process-only mode.</summary>
    public long MaxWorkFolderBytes { get; init; } = 64L << 20;
    public int MaxOpenFiles { get; init; } = 256;
    /// <summary>Bytes of stdout and of stderr kept (the rest is read and dropped).</summary>
    public int MaxOutputBytes { get; init; } = 64 << 10;
}

internal enum SandboxOutcome { Passed, Failed, TimedOut }

/// <summary>How a plain program run ended (<see cref="PythonSandbox.Run"/>): Passed means it ran to its end
/// and exited 0. Scoring does not use this: see <see cref="CodeAnswerChecker"/>.</summary>
internal sealed record SandboxResult(SandboxOutcome Outcome, int? ExitCode, string Stdout, string Stderr, TimeSpan Elapsed,
    SandboxIsolation Isolation)
{
    public bool Passed => Outcome == SandboxOutcome.Passed;

    /// <summary>A one-line reason: "timeout", "SystemExit", or the exception line of the traceback.</summary>
    public string Summary => Outcome switch
    {
        SandboxOutcome.Passed => "passed",
        SandboxOutcome.TimedOut => "timeout",
        _ => LastErrorLine(Stderr) ?? (ExitCode is { } c ? $"exit code {c}" : "failed"),
    };

    internal static string? LastErrorLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? null : lines[^1].Length > 200 ? lines[^1][..200] : lines[^1];
    }
}

/// <summary>The sandbox could not be set up, or no strong isolation is available; nothing untrusted ran.</summary>
internal sealed class SandboxSetupException(string message) : Exception(message);

/// <summary>
/// Runs untrusted Python in a separate process that cannot reach the harness. What is enforced, and by what:
/// <list type="bullet">
/// <item>Reach: bubblewrap namespaces (see <see cref="SandboxIsolation.Bubblewrap"/>): the harness is not in
/// the sandbox's PID namespace (no signals, no <c>/proc/&lt;ppid&gt;</c>), there is no network, and only the
/// work folder is writable. As root the sandbox also runs as a fresh uid.</item>
/// <item>One process: a seccomp filter installed before any untrusted code refuses fork, vfork, exec,
/// non-thread clone, sockets, ptrace, signals to other processes, io_uring and mount/namespace calls. With a
/// single process, RLIMIT_AS bounds the memory of everything the program can start.</item>
/// <item>Time: the wall-clock timeout kills bubblewrap, whose namespace init then takes every process with it
/// (also when the harness itself dies: <c>--die-with-parent</c>); <see cref="CancellationToken"/>s do the
/// same at once. RLIMIT_CPU is a backstop.</item>
/// <item>Files: under bubblewrap the code's <c>/work</c> is a tmpfs of <see cref="SandboxLimits.MaxWorkFolderBytes"/>
/// (the job's files bound into it read-only), so nothing it writes reaches the disk and all of it goes with the
/// namespace; RLIMIT_FSIZE caps each file. The host work folder is deleted afterwards with
/// <c>rm -rf --one-file-system</c>, which never follows links and handles trees nested past PATH_MAX.</item>
/// </list>
/// Without bubblewrap the constructor refuses, unless weak isolation is opted into
/// (<c>allowWeakIsolation</c> or <c>ADARAS_ALLOW_WEAK_SANDBOX=1</c>).
/// </summary>
internal sealed class PythonSandbox
{
    const string ReadyMarker = "adaras-sandbox-ready\n";
    /// <summary>Set to 1 to run code without namespaces when bubblewrap is unavailable (weak; not recommended).</summary>
    public const string AllowWeakVariable = "ADARAS_ALLOW_WEAK_SANDBOX";
    static readonly Lazy<string> LauncherSource = new(ReadLauncher);
    static readonly Lazy<string?> BubblewrapProblem = new(ProbeBubblewrap);
    static int _warnedWeak;

    public SandboxLimits Limits { get; }
    public SandboxIsolation Isolation { get; }
    public string PythonPath { get; }
    /// <summary>The seccomp filter (one process, no sockets); on by default. Tests turn it off to prove the namespaces alone.</summary>
    public bool Seccomp { get; private init; }

    public PythonSandbox(SandboxLimits? limits = null, SandboxIsolation isolation = SandboxIsolation.Auto,
        string? pythonPath = null, bool allowWeakIsolation = false, bool seccomp = true)
    {
        Limits = Validate(limits ?? new SandboxLimits());
        PythonPath = pythonPath ?? FindPython();
        Seccomp = seccomp;
        allowWeakIsolation |= Environment.GetEnvironmentVariable(AllowWeakVariable) == "1";
        Isolation = isolation switch
        {
            SandboxIsolation.Auto when BubblewrapProblem.Value is null => SandboxIsolation.Bubblewrap,
            SandboxIsolation.Auto when allowWeakIsolation => SandboxIsolation.ProcessOnly,
            SandboxIsolation.Auto or SandboxIsolation.Bubblewrap when BubblewrapProblem.Value is { } problem =>
                throw new SandboxSetupException(
                    $"no strong sandbox for model-written code: {problem}. Install bubblewrap (apt-get install bubblewrap) " +
                    $"and allow user namespaces, or accept a weak process-only sandbox with {AllowWeakVariable}=1"),
            _ => isolation,
        };
        if (Isolation == SandboxIsolation.ProcessOnly && isolation == SandboxIsolation.Auto && Interlocked.Exchange(ref _warnedWeak, 1) == 0)
            Console.Error.WriteLine($"WARNING: model-written code runs WITHOUT namespaces ({BubblewrapProblem.Value}); " +
                "it can read this machine's files" + (IsRoot ? "" : " and write wherever this process can"));
        if (Isolation == SandboxIsolation.Bubblewrap && !PythonPath.StartsWith("/usr/", StringComparison.Ordinal))
            throw new SandboxSetupException($"the sandbox shows only /usr: use a python3 under /usr, not {PythonPath}");
    }

    /// <summary>The same sandbox (isolation, seccomp, interpreter) with other limits.</summary>
    public PythonSandbox WithLimits(SandboxLimits limits) => new(Validate(limits), PythonPath, Isolation) { Seccomp = Seccomp };

    static SandboxLimits Validate(SandboxLimits limits) =>
        limits.Timeout <= TimeSpan.Zero || limits.MemoryBytes <= 0 || limits.MaxProcesses < 1 || limits.MaxFileBytes <= 0
            || limits.MaxOpenFiles < 16 || limits.MaxOutputBytes < 0 || limits.MaxWorkFolderBytes < (1L << 20)
            ? throw new ArgumentException($"sandbox limits must be positive (open files >= 16): {limits}", nameof(limits))
            : limits;

    /// <summary>Hash of the launcher: part of the key of cached expected outputs.</summary>
    internal static string LauncherHash => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(LauncherSource.Value)));

    /// <summary>Null when bubblewrap isolation works here, else why not.</summary>
    public static string? BubblewrapUnavailableReason => BubblewrapProblem.Value;

    public static bool IsRoot => OperatingSystem.IsLinux() && geteuid() == 0;

    /// <summary>Runs <paramref name="program"/> (Python source) as a script and reports how it ended.</summary>
    public SandboxResult Run(string program, CancellationToken cancellationToken = default)
    {
        var run = Execute(new Dictionary<string, object?> { ["mode"] = "program", ["program"] = "program.py" },
            [("program.py", program)], Limits.Timeout, Limits.MaxOutputBytes, cancellationToken);
        var outcome = run.TimedOut ? SandboxOutcome.TimedOut : run.ExitCode == 0 ? SandboxOutcome.Passed : SandboxOutcome.Failed;
        return new SandboxResult(outcome, run.ExitCode, run.Stdout, run.Stderr, run.Elapsed, Isolation);
    }

    /// <summary>The raw end of one run: the launcher's stdout and stderr (capped), how it ended.</summary>
    internal sealed record RawRun(int? ExitCode, bool TimedOut, bool StdoutTruncated, string Stdout, string Stderr, TimeSpan Elapsed);

    /// <summary>
    /// Runs the launcher with <paramref name="job"/> (one JSON line on its stdin) after writing
    /// <paramref name="files"/> into a fresh work folder. Cancellation kills the sandbox at once, removes the
    /// folder and then throws <see cref="OperationCanceledException"/>.
    /// </summary>
    internal RawRun Execute(Dictionary<string, object?> job, IEnumerable<(string Name, string Content)> files, TimeSpan timeout,
        int maxStdoutBytes, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var work = Directory.CreateTempSubdirectory("adaras-sandbox-").FullName;
        try
        {
            return ExecuteIn(work, job, files, timeout, maxStdoutBytes, cancellationToken);
        }
        finally
        {
            DeleteWorkFolder(work);
        }
    }

    // The steps of one run, in order: files in, a fresh uid, the launcher's settings, start, run to the verdict.
    RawRun ExecuteIn(string work, Dictionary<string, object?> job, IEnumerable<(string Name, string Content)> files, TimeSpan timeout,
        int maxStdoutBytes, CancellationToken cancellationToken)
    {
        var names = WriteWorkFiles(work, files);
        int? uid = IsRoot ? 200_000 + RandomNumberGenerator.GetInt32(100_000) : null;
        if (uid is { } u) GiveTo(work, u);
        var settings = LauncherSettings(job, work, uid, timeout);
        var psi = StartInfo(CommandLine(work, uid, names), work);
        return RunToVerdict(psi, settings, timeout, maxStdoutBytes, cancellationToken);
    }

    /// <summary>Writes the job's files and the launcher into the work folder; returns their names.</summary>
    static List<string> WriteWorkFiles(string work, IEnumerable<(string Name, string Content)> files)
    {
        var names = new List<string>();
        foreach (var (name, content) in files.Append((LauncherFile, LauncherSource.Value)))
        {
            File.WriteAllText(Path.Combine(work, name), content, new UTF8Encoding(false));
            names.Add(name);
        }
        return names;
    }

    /// <summary>Root harness: the folder and its files belong to the sandbox's fresh uid (the process-only mode writes there).</summary>
    static void GiveTo(string work, int uid)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(work).Prepend(work))
            if (lchown(path, uid, uid) != 0) throw new SandboxSetupException($"chown {path}: errno {Marshal.GetLastPInvokeError()}");
    }

    Dictionary<string, object?> LauncherSettings(Dictionary<string, object?> job, string work, int? uid, TimeSpan timeout) =>
        new(job)
        {
            ["workdir"] = Isolation == SandboxIsolation.Bubblewrap ? "/work" : work,
            ["seccomp"] = Seccomp,
            ["limits"] = new Dictionary<string, object?>
            {
                ["memory_bytes"] = Limits.MemoryBytes,
                ["processes"] = uid is null ? null : Limits.MaxProcesses, // a shared uid's count includes the harness
                ["file_bytes"] = Limits.MaxFileBytes,
                ["open_files"] = Limits.MaxOpenFiles,
                ["cpu_seconds"] = (long)Math.Ceiling(timeout.TotalSeconds) + 1,
            },
        };

    /// <summary>The command with an empty environment but PATH and LANG, started in the work folder.</summary>
    static ProcessStartInfo StartInfo(List<string> command, string work)
    {
        var psi = new ProcessStartInfo
        {
            FileName = command[0],
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = work,
        };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        psi.Environment["LANG"] = "C.UTF-8";
        return psi;
    }

    /// <summary>Starts the launcher, hands it its settings, waits for its end, the timeout or cancellation, and
    /// kills whatever is left of the sandbox in every case.</summary>
    RawRun RunToVerdict(ProcessStartInfo psi, Dictionary<string, object?> settings, TimeSpan timeout, int maxStdoutBytes,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new SandboxSetupException($"could not start {psi.FileName}");
        var stdout = new CappedReader(process.StandardOutput.BaseStream, maxStdoutBytes);
        var stderr = new CappedReader(process.StandardError.BaseStream, Limits.MaxOutputBytes);
        bool timedOut = false;
        try
        {
            try
            {
                process.StandardInput.WriteLine(JsonSerializer.Serialize(settings));
                process.StandardInput.Close();
            }
            catch (IOException) { /* the process died at once; its exit code says why */ }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try { process.WaitForExitAsync(deadline.Token).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { timedOut = true; }
        }
        finally
        {
            Kill(process); // the verdict, a timeout, a cancellation or an exception: nothing of the sandbox survives it
        }
        clock.Stop();
        cancellationToken.ThrowIfCancellationRequested();
        stdout.Completion.Wait(TimeSpan.FromSeconds(5));
        stderr.Completion.Wait(TimeSpan.FromSeconds(5));
        int? exitCode = process.HasExited ? process.ExitCode : null;
        var err = stderr.Text;
        // The launcher writes ReadyMarker first once set up; the code cannot take it back, so an exit code or
        // message of its own is never mistaken for a setup failure (which would stop a whole evaluation).
        if (err.StartsWith(ReadyMarker, StringComparison.Ordinal)) err = err[ReadyMarker.Length..];
        else if (!timedOut)
            throw new SandboxSetupException($"the sandbox did not start (exit code {exitCode}): {err.Trim()}");
        return new RawRun(exitCode, timedOut, stdout.Truncated, stdout.Text, err, clock.Elapsed);
    }

    /// <summary>The launcher's command line: [setpriv to a fresh uid] [bubblewrap] python3 -I -B launcher.</summary>
    internal List<string> CommandLine(string work, int? uid, IReadOnlyList<string> files)
    {
        var command = new List<string>();
        if (uid is { } id) command.AddRange(["setpriv", $"--reuid={id}", $"--regid={id}", "--clear-groups", "--no-new-privs", "--"]);
        if (Isolation == SandboxIsolation.Bubblewrap) command.AddRange(BubblewrapArguments(work, files, Limits.MaxWorkFolderBytes));
        // Isolated mode (no environment, no user site), no .pyc writes.
        command.AddRange([PythonPath, "-I", "-B", Path.Combine(Isolation == SandboxIsolation.Bubblewrap ? "/work" : work, LauncherFile)]);
        return command;
    }

    internal const string LauncherFile = "_launcher.py";
    internal static string Launcher => LauncherSource.Value;

    /// <summary>Only /usr (and the /lib, /bin links into it), a few files of /etc the loader and Python read,
    /// and as /work a tmpfs of <paramref name="workBytes"/> holding the job's files read-only: whatever the code
    /// writes lives in memory, bounded in bytes, and never reaches this machine's disk.</summary>
    static List<string> BubblewrapArguments(string work, IReadOnlyList<string> files, long workBytes)
    {
        var args = new List<string> { "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "sandbox", "--ro-bind", "/usr", "/usr" };
        foreach (var dir in new[] { "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin" })
        {
            var info = new FileInfo(dir);
            if (info.LinkTarget is { } target) args.AddRange(["--symlink", target, dir]);
            else if (Directory.Exists(dir)) args.AddRange(["--ro-bind", dir, dir]);
        }
        foreach (var file in new[] { "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives" })
            args.AddRange(["--ro-bind-try", file, file]);
        foreach (var dir in Directory.EnumerateDirectories("/etc", "python3*"))
            args.AddRange(["--ro-bind-try", dir, dir]);
        args.AddRange(["--proc", "/proc", "--dev", "/dev", "--size", workBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tmpfs", "/work"]);
        foreach (var name in files) args.AddRange(["--ro-bind", Path.Combine(work, name), "/work/" + name]);
        args.AddRange(["--chdir", "/work", "--clearenv",
            "--setenv", "HOME", "/work", "--setenv", "TMPDIR", "/work", "--setenv", "PATH", "/usr/bin:/bin",
            "--setenv", "LANG", "C.UTF-8", "--"]);
        return args;
    }

    /// <summary>
    /// SIGKILL to the process we started (bubblewrap, or the launcher itself) and to its process group. Killing
    /// bubblewrap kills the namespace's init (<c>--die-with-parent</c>), and the kernel then kills every
    /// process left in the namespace.
    /// </summary>
    static void Kill(Process process)
    {
        if (!process.HasExited)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
        }
        if (OperatingSystem.IsLinux() && process.Id > 1 && process.Id != Environment.ProcessId)
            kill(-process.Id, 9); // the process-only launcher leads its own group; ESRCH otherwise: harmless
        process.WaitForExit();
    }

    /// <summary>
    /// <c>rm -rf --one-file-system</c> (after <c>chmod -R u+rwx</c> when not root, so folders the program made
    /// read-only can be emptied): GNU coreutils never follow symbolic links and walk trees deeper than
    /// PATH_MAX. A folder that survives is reported on stderr, never ignored.
    /// </summary>
    internal static bool DeleteWorkFolder(string work)
    {
        if (!IsRoot) RunTool("chmod", "-R", "u+rwx", "--", work);
        RunTool("rm", "-rf", "--one-file-system", "--", work);
        if (!Directory.Exists(work) && !File.Exists(work)) return true;
        Console.Error.WriteLine($"warning: could not remove the sandbox folder {work}");
        return false;
    }

    static void RunTool(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool, args) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {tool}");
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
    }

    /// <summary>A system-wide <c>python3</c> (visible inside the sandbox, readable by any uid), else the first on PATH.</summary>
    public static string FindPython()
    {
        foreach (var candidate in new[] { "/usr/bin/python3", "/usr/local/bin/python3" })
            if (File.Exists(candidate)) return candidate;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "python3");
            if (File.Exists(candidate)) return candidate;
        }
        throw new SandboxSetupException("python3 not found (looked in /usr/bin, /usr/local/bin and PATH)");
    }

    static string? ProbeBubblewrap()
    {
        if (!OperatingSystem.IsLinux()) return "bubblewrap needs Linux";
        if (!File.Exists("/usr/bin/bwrap") && !(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "bwrap"))))
            return "bubblewrap (bwrap) is not installed";
        try
        {
            // The same code path as a real run, forced to bubblewrap.
            var forced = new PythonSandbox(new SandboxLimits { Timeout = TimeSpan.FromSeconds(30) }, FindPython(), SandboxIsolation.Bubblewrap);
            var result = forced.Run("import os\nprint(os.getpid())\n");
            return result.Passed && result.Stdout.Trim() == "2" ? null
                : $"bubblewrap does not start here ({SandboxResult.LastErrorLine(result.Stderr) ?? result.Summary})";
        }
        catch (SandboxSetupException e) { return e.Message; }
        catch (System.ComponentModel.Win32Exception e) { return e.Message; }
    }

    PythonSandbox(SandboxLimits limits, string pythonPath, SandboxIsolation forced)
    {
        Limits = limits;
        PythonPath = pythonPath;
        Seccomp = true;
        Isolation = forced;
    }

    static string ReadLauncher()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("AdaRas.Evaluation.Code.sandbox_launcher.py")
            ?? throw new InvalidOperationException("embedded sandbox_launcher.py is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Drains a pipe, keeping its first bytes; says whether more came.</summary>
    sealed class CappedReader
    {
        readonly MemoryStream _head = new();
        readonly int _cap;
        public Task Completion { get; }
        public bool Truncated { get; private set; }

        public CappedReader(Stream stream, int cap)
        {
            _cap = cap;
            Completion = Task.Run(() => Drain(stream));
        }

        void Drain(Stream stream)
        {
            var buffer = new byte[65536];
            try
            {
                int n;
                while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    lock (_head)
                    {
                        int keep = Math.Min(n, _cap - (int)_head.Length);
                        if (keep > 0) _head.Write(buffer, 0, keep);
                        if (keep < n) Truncated = true;
                    }
                }
            }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
        }

        public string Text { get { lock (_head) return Encoding.UTF8.GetString(_head.GetBuffer(), 0, (int)_head.Length); } }
    }

    [DllImport("libc", SetLastError = true)] static extern int kill(int pid, int sig);
    [DllImport("libc")] static extern uint geteuid();
    [DllImport("libc", SetLastError = true)] static extern int lchown(string path, int owner, int group);
}
