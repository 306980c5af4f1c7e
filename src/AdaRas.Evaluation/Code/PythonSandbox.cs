using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AdaRas.Evaluation.Code;

/// <summary>How strongly a program is isolated from the machine.</summary>
public enum SandboxIsolation
{
    /// <summary><see cref="Namespaces"/> where possible (root and a working <c>unshare</c>), else <see cref="ProcessOnly"/>.</summary>
    Auto,
    /// <summary>
    /// New network, mount and PID namespaces (<c>unshare --net --mount --pid --fork --kill-child --mount-proc</c>):
    /// no network interface but a downed loopback; every mount read-only except the work folder; every
    /// process of the program dies with the namespace. Requires root.
    /// </summary>
    Namespaces,
    /// <summary>rlimits, an unprivileged uid when root, its own process group, and the Python guard.</summary>
    ProcessOnly,
}

/// <summary>Limits of one sandboxed run. The defaults suit HumanEval/MBPP tests.</summary>
internal sealed record SandboxLimits
{
    /// <summary>Wall-clock limit; the process group (or namespace) is killed when it passes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>RLIMIT_AS: address space of each process.</summary>
    public long MemoryBytes { get; init; } = 1L << 30;
    /// <summary>
    /// RLIMIT_NPROC for the sandbox's own uid (threads count too). Root ignores it, hence the uid drop; a
    /// non-root harness shares its uid's count with the sandbox, which then can hardly start anything.
    /// </summary>
    public int MaxProcesses { get; init; } = 16;
    /// <summary>RLIMIT_FSIZE: largest file the program may write.</summary>
    public long MaxFileBytes { get; init; } = 16L << 20;
    public int MaxOpenFiles { get; init; } = 256;
    /// <summary>Bytes of stdout and of stderr kept (the rest is read and dropped).</summary>
    public int MaxOutputBytes { get; init; } = 64 << 10;
}

internal enum SandboxOutcome { Passed, Failed, TimedOut }

/// <summary>
/// What happened. <see cref="SandboxOutcome.Passed"/> needs a clean exit <b>and</b> the launcher's secret
/// marker after the program ran to its end, so a program that calls <c>exit(0)</c> or <c>os._exit(0)</c>
/// before its asserts does not pass.
/// </summary>
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

    static string? LastErrorLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? null : lines[^1].Length > 200 ? lines[^1][..200] : lines[^1];
    }
}

/// <summary>The sandbox itself could not be set up; nothing untrusted ran.</summary>
internal sealed class SandboxSetupException(string message) : Exception(message);

/// <summary>
/// Runs an untrusted Python program in a separate <c>python3</c> process. Model-written code is treated as
/// hostile. What is enforced, and by what:
/// <list type="bullet">
/// <item>Time: a wall-clock timeout after which the whole process group is SIGKILLed (and, with namespaces,
/// the PID namespace, which takes every descendant with it), plus RLIMIT_CPU as a backstop.</item>
/// <item>Memory, processes, file size, open files, core dumps: RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE,
/// RLIMIT_NOFILE, RLIMIT_CORE=0. When the harness is root the program runs as a fresh unprivileged uid
/// (root ignores RLIMIT_NPROC), with no supplementary groups and PR_SET_NO_NEW_PRIVS.</item>
/// <item>Network: namespaces give an empty network namespace (connect fails with "network unreachable");
/// the Python guard (an audit hook) also refuses every socket.</item>
/// <item>Files: a fresh temporary work folder (the current directory, HOME and TMPDIR), deleted afterwards.
/// Namespaces make every other mount read-only; the guard also refuses writes outside the folder.</item>
/// <item>Also refused by the guard: new processes, signals, ctypes, gc introspection.</item>
/// </list>
/// The guard is a second layer only: in-process Python checks can in principle be subverted by a program
/// that pokes at interpreter internals; the OS limits cannot.
/// </summary>
internal sealed class PythonSandbox
{
    const int SetupFailedExitCode = 97;
    static readonly Lazy<string> LauncherSource = new(ReadLauncher);
    static readonly Lazy<bool> NamespacesWork = new(ProbeNamespaces);

    public SandboxLimits Limits { get; }
    public SandboxIsolation Isolation { get; }
    public string PythonPath { get; }
    /// <summary>The Python audit-hook layer; on by default. Tests turn it off to prove the OS layer alone.</summary>
    public bool PythonGuard { get; }

    public PythonSandbox(SandboxLimits? limits = null, SandboxIsolation isolation = SandboxIsolation.Auto,
        string? pythonPath = null, bool pythonGuard = true)
    {
        Limits = limits ?? new SandboxLimits();
        if (Limits.Timeout <= TimeSpan.Zero || Limits.MemoryBytes <= 0 || Limits.MaxProcesses < 1 || Limits.MaxFileBytes <= 0
            || Limits.MaxOpenFiles < 16 || Limits.MaxOutputBytes < 0)
            throw new ArgumentException($"sandbox limits must be positive (open files >= 16): {Limits}", nameof(limits));
        PythonPath = pythonPath ?? FindPython();
        PythonGuard = pythonGuard;
        Isolation = isolation switch
        {
            SandboxIsolation.Auto => NamespacesAvailable ? SandboxIsolation.Namespaces : SandboxIsolation.ProcessOnly,
            SandboxIsolation.Namespaces when !NamespacesAvailable =>
                throw new SandboxSetupException("namespace isolation needs root and a working 'unshare' (util-linux)"),
            _ => isolation,
        };
    }

    /// <summary>True when this process is root and <c>unshare</c> can create the namespaces.</summary>
    public static bool NamespacesAvailable => NamespacesWork.Value;

    public static bool IsRoot => OperatingSystem.IsLinux() && geteuid() == 0;

    /// <summary>Runs <paramref name="program"/> (Python source) and reports how it ended.</summary>
    public SandboxResult Run(string program, CancellationToken cancellationToken = default)
    {
        var work = Directory.CreateTempSubdirectory("adaras-sandbox-").FullName;
        try
        {
            return RunIn(work, program, cancellationToken);
        }
        finally
        {
            DeleteWorkFolder(work);
        }
    }

    SandboxResult RunIn(string work, string program, CancellationToken cancellationToken)
    {
        const string programFile = "program.py";
        const string launcherFile = "_launcher.py";
        File.WriteAllText(Path.Combine(work, programFile), program, new UTF8Encoding(false));
        var launcher = Path.Combine(work, launcherFile);
        File.WriteAllText(launcher, LauncherSource.Value, new UTF8Encoding(false));

        var nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        bool namespaces = Isolation == SandboxIsolation.Namespaces;
        var settings = new Dictionary<string, object?>
        {
            ["workdir"] = work,
            ["program"] = programFile,
            ["nonce"] = nonce,
            ["uid"] = IsRoot ? 200_000 + RandomNumberGenerator.GetInt32(100_000) : null,
            ["read_only_filesystem"] = namespaces,
            ["host_mount_namespace"] = namespaces ? HostMountNamespace() : null,
            ["python_guard"] = PythonGuard,
            ["limits"] = new Dictionary<string, object>
            {
                ["memory_bytes"] = Limits.MemoryBytes,
                ["processes"] = Limits.MaxProcesses,
                ["file_bytes"] = Limits.MaxFileBytes,
                ["open_files"] = Limits.MaxOpenFiles,
                ["cpu_seconds"] = (long)Math.Ceiling(Limits.Timeout.TotalSeconds) + 1,
            },
        };

        var psi = new ProcessStartInfo
        {
            FileName = namespaces ? "unshare" : PythonPath,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = work,
        };
        if (namespaces)
            foreach (var a in new[] { "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", PythonPath })
                psi.ArgumentList.Add(a);
        foreach (var a in new[] { "-I", "-B", launcher }) psi.ArgumentList.Add(a); // isolated mode, no .pyc writes
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        psi.Environment["LANG"] = "C.UTF-8";

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new SandboxSetupException($"could not start {psi.FileName}");
        var stdout = new CappedReader(process.StandardOutput.BaseStream, Limits.MaxOutputBytes);
        var stderr = new CappedReader(process.StandardError.BaseStream, Limits.MaxOutputBytes);
        try
        {
            process.StandardInput.WriteLine(JsonSerializer.Serialize(settings));
            process.StandardInput.Close();
        }
        catch (IOException) { /* the process died at once; its exit code says why */ }

        bool timedOut;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(Limits.Timeout);
            try { process.WaitForExitAsync(deadline.Token).GetAwaiter().GetResult(); timedOut = false; }
            catch (OperationCanceledException) { timedOut = true; }
        }
        KillEverything(process);
        clock.Stop();
        cancellationToken.ThrowIfCancellationRequested();

        // Readers end when the last holder of the pipes dies; a descendant that escaped the group in
        // process-only mode could hold them open, so wait only briefly.
        stdout.Completion.Wait(TimeSpan.FromSeconds(2));
        stderr.Completion.Wait(TimeSpan.FromSeconds(2));
        int? exitCode = process.HasExited ? process.ExitCode : null;
        var err = stderr.Text;
        if (!timedOut && exitCode == SetupFailedExitCode)
            throw new SandboxSetupException(err.Trim());

        var marker = "\n" + nonce + "\n";
        bool finished = stdout.Tail.EndsWith(marker, StringComparison.Ordinal);
        var outcome = timedOut ? SandboxOutcome.TimedOut
            : exitCode == 0 && finished ? SandboxOutcome.Passed : SandboxOutcome.Failed;
        var output = stdout.Text;
        if (finished && output.EndsWith(marker, StringComparison.Ordinal)) output = output[..^marker.Length];
        return new SandboxResult(outcome, exitCode, output, err, clock.Elapsed, Isolation);
    }

    /// <summary>
    /// SIGKILL to the launcher's process group (it called setsid, so the group id is its pid) and to the
    /// process tree. With namespaces, killing <c>unshare</c> kills the namespace's init, and the kernel then
    /// kills every process left in the namespace.
    /// </summary>
    static void KillEverything(Process process)
    {
        if (!process.HasExited)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
        }
        if (OperatingSystem.IsLinux() && process.Id > 1 && process.Id != Environment.ProcessId)
            kill(-process.Id, 9); // ESRCH when no such group is left: harmless
        process.WaitForExit();
    }

    static void DeleteWorkFolder(string work)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (!Directory.Exists(work)) return;
                // A program may have made its own files read-only; make them deletable again.
                foreach (var entry in Directory.EnumerateFileSystemEntries(work, "*", SearchOption.AllDirectories))
                {
                    try { if (!OperatingSystem.IsWindows() && Directory.Exists(entry)) File.SetUnixFileMode(entry, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
                    catch (IOException) { } catch (UnauthorizedAccessException) { }
                }
                Directory.Delete(work, recursive: true);
                return;
            }
            catch (IOException) { Thread.Sleep(50); }
            catch (UnauthorizedAccessException) { Thread.Sleep(50); }
        }
    }

    /// <summary>A system-wide <c>python3</c> (readable by the unprivileged uid), else the first on PATH.</summary>
    public static string FindPython()
    {
        foreach (var candidate in new[] { "/usr/bin/python3", "/usr/local/bin/python3" })
            if (File.Exists(candidate)) return candidate;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "python3");
            if (File.Exists(candidate)) return ResolveShim(candidate);
        }
        throw new SandboxSetupException("python3 not found (looked in /usr/bin, /usr/local/bin and PATH)");
    }

    /// <summary>pyenv-style shims are scripts that spawn the real interpreter; ask it for its own path.</summary>
    static string ResolveShim(string python)
    {
        try
        {
            var psi = new ProcessStartInfo(python, ["-c", "import sys; print(sys.executable)"]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            var path = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && File.Exists(path) ? path : python;
        }
        catch (System.ComponentModel.Win32Exception) { return python; }
    }

    static bool ProbeNamespaces()
    {
        if (!IsRoot) return false;
        try
        {
            var psi = new ProcessStartInfo("unshare", ["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "true"])
            { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            using var p = Process.Start(psi)!;
            if (!p.WaitForExit(10_000)) { p.Kill(true); return false; }
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    static string HostMountNamespace()
    {
        var target = File.ResolveLinkTarget("/proc/self/ns/mnt", returnFinalTarget: false);
        return target?.ToString() ?? throw new SandboxSetupException("cannot read /proc/self/ns/mnt");
    }

    static string ReadLauncher()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("AdaRas.Evaluation.Code.sandbox_launcher.py")
            ?? throw new InvalidOperationException("embedded sandbox_launcher.py is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Drains a pipe, keeping its first bytes and its last 4 KiB (where the pass marker is).</summary>
    sealed class CappedReader
    {
        readonly MemoryStream _head = new();
        readonly byte[] _tail = new byte[4096];
        int _tailLength;
        readonly int _cap;
        public Task Completion { get; }

        public CappedReader(Stream stream, int cap)
        {
            _cap = cap;
            Completion = Task.Run(() => Drain(stream));
        }

        void Drain(Stream stream)
        {
            var buffer = new byte[16384];
            try
            {
                int n;
                while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    lock (_head)
                    {
                        int keep = Math.Min(n, _cap - (int)_head.Length);
                        if (keep > 0) _head.Write(buffer, 0, keep);
                        AppendTail(buffer, n);
                    }
                }
            }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
        }

        void AppendTail(byte[] data, int n)
        {
            if (n >= _tail.Length) { Array.Copy(data, n - _tail.Length, _tail, 0, _tail.Length); _tailLength = _tail.Length; return; }
            int overflow = Math.Max(0, _tailLength + n - _tail.Length);
            if (overflow > 0) { Array.Copy(_tail, overflow, _tail, 0, _tailLength - overflow); _tailLength -= overflow; }
            Array.Copy(data, 0, _tail, _tailLength, n);
            _tailLength += n;
        }

        public string Text { get { lock (_head) return Encoding.UTF8.GetString(_head.GetBuffer(), 0, (int)_head.Length); } }
        public string Tail { get { lock (_head) return Encoding.UTF8.GetString(_tail, 0, _tailLength); } }
    }

    [DllImport("libc", SetLastError = true)] static extern int kill(int pid, int sig);
    [DllImport("libc")] static extern uint geteuid();
}
