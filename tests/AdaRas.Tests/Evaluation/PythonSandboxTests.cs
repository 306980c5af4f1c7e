using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AdaRas.Evaluation.Code;

namespace AdaRas.Tests.Evaluation;

/// <summary>
/// Hostile programs against the sandbox, layer by layer: bubblewrap with the seccomp filter (the default),
/// bubblewrap alone (namespaces only), and the opt-in process-only mode (seccomp and rlimits, no namespaces).
/// Each attack asserts only what its layer claims. The same attacks with an unprivileged harness are in
/// <see cref="UnprivilegedSandboxTests"/>.
/// </summary>
[TestFixture]
[NonParallelizable]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class PythonSandboxTests
{
    internal static readonly SandboxLimits Short = new() { Timeout = TimeSpan.FromSeconds(5), MaxProcesses = 16, MemoryBytes = 512L << 20 };

    public enum Layer { BubblewrapSeccomp, BubblewrapOnly, ProcessOnlySeccomp }

    static PythonSandbox Make(Layer layer, SandboxLimits? limits = null)
    {
        if (layer != Layer.ProcessOnlySeccomp && PythonSandbox.BubblewrapUnavailableReason is { } why)
            Assert.Fail($"bubblewrap is required for these tests (tools/test.sh installs it as root): {why}");
        return layer switch
        {
            Layer.BubblewrapSeccomp => new PythonSandbox(limits ?? Short, SandboxIsolation.Bubblewrap),
            Layer.BubblewrapOnly => new PythonSandbox(limits ?? Short, SandboxIsolation.Bubblewrap, seccomp: false),
            _ => new PythonSandbox(limits ?? Short, SandboxIsolation.ProcessOnly),
        };
    }

    static readonly Layer[] All = [Layer.BubblewrapSeccomp, Layer.BubblewrapOnly, Layer.ProcessOnlySeccomp];
    static readonly Layer[] Namespaced = [Layer.BubblewrapSeccomp, Layer.BubblewrapOnly];
    static readonly Layer[] Filtered = [Layer.BubblewrapSeccomp, Layer.ProcessOnlySeccomp];

    [Test]
    public void AutoChoosesBubblewrapOrRefusesLoudly()
    {
        if (PythonSandbox.BubblewrapUnavailableReason is null)
            Assert.That(new PythonSandbox(Short).Isolation, Is.EqualTo(SandboxIsolation.Bubblewrap));
        else
            Assert.That(() => new PythonSandbox(Short), Throws.TypeOf<SandboxSetupException>().With.Message.Contains("bubblewrap"));
        Assert.That(new PythonSandbox(Short, allowWeakIsolation: true).Isolation, Is.Not.EqualTo(SandboxIsolation.Auto));
    }

    [TestCaseSource(nameof(All))]
    public void CorrectProgramPassesAndWrongOneFails(Layer layer)
    {
        var sandbox = Make(layer);
        var ok = sandbox.Run("def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\nprint('hello')\n");
        Assert.That(ok.Outcome, Is.EqualTo(SandboxOutcome.Passed), ok.Stderr);
        Assert.That(ok.Stdout.Trim(), Is.EqualTo("hello"));
        var wrong = sandbox.Run("def add(a, b):\n    return a - b\n\nassert add(2, 3) == 5\n");
        Assert.That(wrong.Summary, Does.Contain("AssertionError"));
    }

    [Test]
    public void TheEnvironmentIsEmptyAndTheHarnessIsInvisible()
    {
        Environment.SetEnvironmentVariable("ADARAS_TEST_CANARY", "canary-0451");
        var result = Make(Layer.BubblewrapSeccomp).Run(
            "import os\nprint(sorted(os.environ))\nprint(os.getpid(), os.getppid(), sorted(p for p in os.listdir('/proc') if p.isdigit()))\n" +
            "print(os.listdir('/'))\nfor p in os.listdir('/proc'):\n    if p.isdigit():\n        print(open('/proc/%s/environ' % p, 'rb').read())\n");
        Assert.That(result.Passed, result.Stderr);
        Assert.That(result.Stdout, Does.Not.Contain("canary-0451").And.Not.Contain("ADARAS_TEST_CANARY"));
        var lines = result.Stdout.Split('\n');
        Assert.That(lines[0], Is.EqualTo("['HOME', 'LANG', 'PATH', 'TMPDIR']"));
        Assert.That(lines[1], Is.EqualTo("2 1 ['1', '2']"), "only the namespace's init and the program are visible");
        Assert.That(lines[2], Does.Not.Contain("'tmp'").And.Not.Contain("'root'").And.Not.Contain("'home'"));
    }

    [TestCaseSource(nameof(All))]
    public void InfiniteLoopIsKilledAtTheTimeout(Layer layer)
    {
        var clock = Stopwatch.StartNew();
        var result = Make(layer, Short with { Timeout = TimeSpan.FromSeconds(1.5) }).Run("while True:\n    pass\n");
        Assert.That(result.Outcome, Is.EqualTo(SandboxOutcome.TimedOut));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)));
    }

    [TestCaseSource(nameof(Filtered))]
    public void NoNewProcessesNoExecNoForkExec(Layer layer)
    {
        // _posixsubprocess.fork_exec raises no audit event: the kernel filter refuses the fork itself.
        var result = Make(layer).Run(
            "import os, subprocess, _posixsubprocess\nn = 0\n" +
            "for attempt in (lambda: os.fork(), lambda: subprocess.run(['/bin/true']), lambda: os.execv('/bin/true', ['true']),\n" +
            "                lambda: _posixsubprocess.fork_exec(['/bin/true'], [b'/bin/true'], True, (), None, None, -1, -1, -1, -1, -1, -1, -1, -1, False, False, 0, None, None, None, -1, None, False)):\n" +
            "    try:\n        r = attempt()\n        if r == 0: os._exit(0)\n        print('STARTED', r)\n    except Exception as e:\n        n += 1\n" +
            "print('refused', n)\n");
        Assert.That(result.Stdout, Does.Not.Contain("STARTED"), result.Stderr);
        Assert.That(result.Stdout, Does.Contain("refused 4"), result.Stderr);
    }

    [TestCaseSource(nameof(All))]
    public void ThreadsShareTheMemoryLimit(Layer layer)
    {
        // Eight threads mapping 100 MB each against 512 MB: RLIMIT_AS covers the process, and seccomp keeps it
        // one process. (Untouched mappings: the limit is on address space, and the test stays fast.)
        var result = Make(layer, Short with { Timeout = TimeSpan.FromSeconds(20) }).Run(
            "import threading, mmap\nerrors = []\nkeep = []\n" +
            "def grab():\n    try:\n        keep.append(mmap.mmap(-1, 100 << 20))\n    except (MemoryError, OSError):\n        errors.append(1)\n" +
            "ts = [threading.Thread(target=grab) for _ in range(8)]\n[t.start() for t in ts]\n[t.join() for t in ts]\nprint('errors', len(errors))\n");
        Assert.That(result.Passed, result.Summary + "\n" + result.Stderr);
        Assert.That(result.Stdout.Trim(), Is.Not.EqualTo("errors 0"), "800 MB fitted in a 512 MB sandbox");
    }

    [TestCaseSource(nameof(Filtered))]
    public void MemoryBombAcrossProcessesCannotStart(Layer layer)
    {
        // Many processes of just under the limit each would add up past it: they cannot be created.
        var result = Make(layer).Run(
            "import os\nstarted = 0\nfor _ in range(6):\n    try:\n        if os.fork() == 0:\n            x = bytearray(400 << 20)\n            import time; time.sleep(3)\n            os._exit(0)\n" +
            "        started += 1\n    except OSError:\n        pass\nprint('started', started)\n");
        Assert.That(result.Stdout.Trim(), Is.EqualTo("started 0"), result.Stderr);
    }

    [TestCaseSource(nameof(All))]
    public void OneProcessCannotAllocatePastTheLimit(Layer layer)
    {
        // The whole tree is one process (seccomp; the kernel refuses fork above), so RLIMIT_AS is its memory:
        // 300 MB fits in 512 MB, 700 MB touched for real does not.
        var result = Make(layer, Short with { Timeout = TimeSpan.FromSeconds(20) }).Run(
            "a = bytearray(300 << 20)\nprint('300 MB ok')\ntry:\n    b = bytearray(700 << 20)\n    print('700 MB ok')\nexcept MemoryError:\n    print('700 MB refused')\n");
        Assert.That(result.Passed, result.Summary + "\n" + result.Stderr);
        Assert.That(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "300 MB ok", "700 MB refused" }));
    }

    [TestCaseSource(nameof(Namespaced))]
    public void FillingTheDiskIsBoundedAndNeverReachesIt(Layer layer)
    {
        // /work is a tmpfs of MaxWorkFolderBytes (8 MiB here): one huge file, then 100,000 small ones, stop when it
        // is full; nothing lands on this machine's disk. (RLIMIT_FSIZE is set above the tmpfs so the tmpfs is what stops it.)
        var limits = Short with { Timeout = TimeSpan.FromSeconds(60), MaxWorkFolderBytes = 8L << 20, MaxFileBytes = 256L << 20 };
        var result = Make(layer, limits).Run(
            "import os\nst = os.statvfs('.')\nprint('size', st.f_blocks * st.f_frsize)\nbig = 0\n" +
            "fd = os.open('big', os.O_CREAT | os.O_WRONLY)\ntry:\n    for _ in range(100):\n        big += os.write(fd, b'x' * (1 << 20))\n" +
            "except OSError as e:\n    print('big stopped', e.errno)\nos.close(fd)\nprint('big bytes', big)\nos.remove('big')\nsmall = 0\n" +
            "try:\n    for i in range(100000):\n        fd = os.open('f%d' % i, os.O_CREAT | os.O_WRONLY)\n        try:\n            os.write(fd, b'x' * 1024)\n" +
            "        finally:\n            os.close(fd)\n        small += 1\nexcept OSError as e:\n    print('small stopped', e.errno)\nprint('small files', small)\n");
        Assert.That(result.Passed, result.Summary + "\n" + result.Stderr);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Is.EqualTo($"size {8 << 20}"), "the work folder is the bounded tmpfs");
        Assert.That(lines, Does.Contain("big stopped 28"), "ENOSPC");
        Assert.That(long.Parse(lines.Single(l => l.StartsWith("big bytes ", StringComparison.Ordinal))[10..]), Is.LessThanOrEqualTo(8L << 20));
        Assert.That(lines, Does.Contain("small stopped 28"));
        Assert.That(int.Parse(lines.Single(l => l.StartsWith("small files ", StringComparison.Ordinal))[12..]), Is.LessThanOrEqualTo((8 << 20) / 1024));
    }

    [TestCaseSource(nameof(Namespaced))]
    public void GrandchildDoesNotOutliveTheVerdict(Layer layer)
    {
        var token = "adaras-orphan-" + Guid.NewGuid().ToString("N");
        var result = Make(layer).Run(
            "import os\ntry:\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n" +
            $"            os.execv('/usr/bin/python3', ['python3', '-c', 'import time; time.sleep(30)', '{token}'])\n" +
            "        os._exit(0)\nexcept OSError as e:\n    print('refused', e)\nimport time; time.sleep(0.5)\n");
        Assert.That(result.ExitCode, Is.Not.Null);
        Thread.Sleep(500);
        Assert.That(ProcessesWith(token), Is.Empty, "a process started in the sandbox outlived the verdict");
    }

    [TestCaseSource(nameof(Namespaced))]
    public void WritesOutsideTheWorkFolderFail(Layer layer)
    {
        var target = Path.Combine(Path.GetTempPath(), $"adaras-escape-{Guid.NewGuid():N}");
        var result = Make(layer).Run(
            "import sqlite3, os\nfor attempt in (\n" +
            $"    lambda: open({Py(target)}, 'w').write('escaped'),\n" +
            $"    lambda: sqlite3.connect({Py(target + ".db")}).execute('create table t(x int)'),\n" +
            $"    lambda: os.symlink('/tmp', 'swap') or open('swap/{Path.GetFileName(target)}.swap', 'w').write('x')):\n" +
            "    try:\n        attempt()\n        print('WROTE')\n    except Exception as e:\n        print('refused', type(e).__name__)\n");
        Assert.That(File.Exists(target) || File.Exists(target + ".db") || File.Exists(target + ".swap"), Is.False, "the program wrote outside its folder");
        Assert.That(result.Stdout, Does.Not.Contain("WROTE"), result.Stdout);
    }

    [TestCaseSource(nameof(All))]
    public void NetworkToThisMachineFails(Layer layer)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var result = Make(layer).Run($"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\ns.sendall(b'leak')\n");
        Assert.That(result.Outcome, Is.EqualTo(SandboxOutcome.Failed));
        Assert.That(listener.Pending(), Is.False, "the sandboxed program reached a socket on this machine");
    }

    [TestCaseSource(nameof(All))]
    public void SignalsCannotReachTheHarness(Layer layer)
    {
        if (layer == Layer.ProcessOnlySeccomp && !PythonSandbox.IsRoot) Assert.Ignore("process-only without root shares the harness's uid");
        int me = Environment.ProcessId;
        var result = Make(layer).Run(
            "import os, signal\n" +
            $"for attempt in (lambda: signal.pidfd_send_signal(os.pidfd_open({me}), 0), lambda: os.kill({me}, 0), lambda: os.kill(1, 0) if os.getpid() != 2 else None.x):\n" +
            "    try:\n        attempt()\n        print('REACHED')\n    except Exception as e:\n        print('refused', type(e).__name__)\n");
        Assert.That(result.Stdout, Does.Not.Contain("REACHED"), result.Stdout + result.Stderr);
    }

    [TestCaseSource(nameof(All))]
    public void CleanupNeverFollowsLinksAndRemovesTreesPastPathMax(Layer layer)
    {
        var victim = Directory.CreateTempSubdirectory("adaras-victim-").FullName;
        try
        {
            File.SetUnixFileMode(victim, (UnixFileMode)Convert.ToInt32("1777", 8));
            File.WriteAllText(Path.Combine(victim, "keep.txt"), "mine");
            var marker = "marker-" + Guid.NewGuid().ToString("N");
            var result = Make(layer).Run(
                $"import os\nopen('{marker}', 'w').close()\n" +
                $"os.symlink({Py(victim)}, 'v')\nos.symlink({Py(Path.Combine(victim, "keep.txt"))}, 'f')\n" +
                "os.mkdir('ro'); os.symlink('" + victim + "', 'ro/v'); os.chmod('ro', 0o500)\n" +
                "name = 'd' * 200\nfor i in range(40):\n    os.mkdir(name)\n    os.chdir(name)\n" +
                "open('deep.txt', 'w').write('x')\nprint(os.getcwd().count('/'))\n");
            Assert.That(result.Passed, result.Stderr);
            Assert.That(Convert.ToString((int)File.GetUnixFileMode(victim), 8), Is.EqualTo("1777"), "cleanup changed the link target's mode");
            Assert.That(File.ReadAllText(Path.Combine(victim, "keep.txt")), Is.EqualTo("mine"));
            Assert.That(Directory.GetDirectories(Path.GetTempPath(), "adaras-sandbox-*").Where(d => File.Exists(Path.Combine(d, marker))),
                Is.Empty, "the work folder was left behind");
        }
        finally
        {
            Directory.Delete(victim, true);
        }
    }

    [Test]
    public void DeleteWorkFolderRemovesADeepTreeItCouldNotOtherwiseReach()
    {
        // Control for the cleanup test: the tree really is past PATH_MAX (4096), so path-based deletion fails.
        var root = Directory.CreateTempSubdirectory("adaras-deep-").FullName;
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c",
            $"import os\nos.chdir({Py(root)})\nfor i in range(40):\n    os.mkdir('d' * 200)\n    os.chdir('d' * 200)\nopen('x', 'w').write('x')\nos.chmod('.', 0o500)\n"]);
        using (var p = Process.Start(psi)!) p.WaitForExit();
        var deepest = Path.Combine([root, .. Enumerable.Repeat(new string('d', 200), 40)]);
        Assert.That(deepest.Length, Is.GreaterThan(4096));
        Assert.That(PythonSandbox.DeleteWorkFolder(root), Is.True);
        Assert.That(Directory.Exists(root), Is.False);
    }

    [Test]
    public void HugeOutputIsCapped()
    {
        var result = Make(Layer.BubblewrapSeccomp, Short with { MaxOutputBytes = 4096 }).Run("for i in range(200000):\n    print('spam' * 10)\n");
        Assert.That(result.Outcome, Is.EqualTo(SandboxOutcome.Passed), result.Stderr);
        Assert.That(result.Stdout.Length, Is.LessThanOrEqualTo(4096));
    }

    [Test]
    public void CancellationKillsTheRunAtOnce()
    {
        var token = "adaras-cancel-" + Guid.NewGuid().ToString("N");
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500));
        var sandbox = Make(Layer.BubblewrapOnly, Short with { Timeout = TimeSpan.FromSeconds(60) });
        var clock = Stopwatch.StartNew();
        Assert.That(() => sandbox.Run($"import os\nos.execv('/usr/bin/python3', ['python3', '-c', 'while True: pass', '{token}'])\n", cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        Thread.Sleep(300);
        Assert.That(ProcessesWith(token), Is.Empty);
    }

    [TestCaseSource(nameof(Namespaced))]
    public void SandboxDiesWhenTheHarnessIsKilled(Layer layer)
    {
        // The harness here is a shell running the sandbox's exact command line; SIGKILL it (no chance to clean
        // up) and the namespace must go with it (bubblewrap's --die-with-parent).
        var sandbox = Make(layer, Short with { Timeout = TimeSpan.FromSeconds(60) });
        var token = "ak" + Guid.NewGuid().ToString("N")[..13]; // 15 characters: fits a process name (comm)
        var work = Directory.CreateTempSubdirectory("adaras-sandbox-").FullName;
        var job = Path.Combine(Path.GetTempPath(), token + ".json");
        try
        {
            File.WriteAllText(Path.Combine(work, PythonSandbox.LauncherFile), PythonSandbox.Launcher);
            File.WriteAllText(Path.Combine(work, "program.py"),
                $"import os, time\nopen('/proc/self/comm', 'w').write('{token}')\ntry:\n    if os.fork() == 0:\n        os.execv('/usr/bin/python3', ['python3', '-c', 'while True: pass', '{token}'])\n" +
                "except OSError:\n    pass\nwhile True:\n    time.sleep(0.1)\n");
            int? uid = PythonSandbox.IsRoot ? 250_123 : null;
            if (uid is not null)
                foreach (var path in Directory.EnumerateFileSystemEntries(work).Prepend(work)) Chown(path, uid.Value);
            File.WriteAllText(job, "{\"mode\": \"program\", \"program\": \"program.py\", \"workdir\": \"" +
                (layer == Layer.ProcessOnlySeccomp ? work : "/work") + "\", \"seccomp\": " + (sandbox.Seccomp ? "true" : "false") + "}\n");
            var command = string.Join(' ', sandbox.CommandLine(work, uid, [PythonSandbox.LauncherFile, "program.py"]).Select(a => "'" + a.Replace("'", "'\\''") + "'"));
            using var shell = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"{command} < '{job}' & wait"]) { UseShellExecute = false })!;
            var clock = Stopwatch.StartNew();
            while (ProcessesWith(token).Count < (sandbox.Seccomp ? 1 : 2) && clock.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(100);
            Assert.That(ProcessesWith(token), Is.Not.Empty, "the sandboxed program did not start");
            Thread.Sleep(500);
            shell.Kill(); // SIGKILL to the harness only, not its tree
            shell.WaitForExit();
            clock.Restart();
            while (ProcessesWith(token).Count + ProcessesWith(work).Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(100);
            Assert.That(ProcessesWith(token), Is.Empty, "a sandboxed process outlived its harness");
            Assert.That(ProcessesWith(work), Is.Empty, "bubblewrap outlived its harness");
        }
        finally
        {
            File.Delete(job);
            PythonSandbox.DeleteWorkFolder(work);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)] static extern int lchown(string path, int owner, int group);
    static void Chown(string path, int uid) => Assert.That(lchown(path, uid, uid), Is.Zero, path);

    [Test]
    public void NonsenseLimitsAreRefused()
    {
        Assert.That(() => new PythonSandbox(new SandboxLimits { Timeout = TimeSpan.Zero }), Throws.ArgumentException);
        Assert.That(() => new PythonSandbox(new SandboxLimits { MemoryBytes = -1 }), Throws.ArgumentException);
    }

    internal static string Py(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";

    /// <summary>Live processes whose command line contains <paramref name="token"/>.</summary>
    internal static List<string> ProcessesWith(string token)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ') + " comm=" + File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                var state = File.ReadAllLines(Path.Combine(dir, "status")).FirstOrDefault(l => l.StartsWith("State:")) ?? "";
                if (cmdline.Contains(token) && !state.Contains("zombie")) found.Add($"{Path.GetFileName(dir)}: {cmdline}");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }
}
