using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AdaRas.Evaluation.Code;

namespace AdaRas.Tests.Evaluation;

/// <summary>
/// Hostile programs against the sandbox. Each layer is tested on its own where the machine allows:
/// with the Python guard on (default) and, where namespaces are available (root), with the guard off so
/// only the OS limits stand between the program and the machine.
/// </summary>
[TestFixture]
[NonParallelizable]
public class PythonSandboxTests
{
    static readonly SandboxLimits Short = new() { Timeout = TimeSpan.FromSeconds(3), MaxProcesses = 8, MemoryBytes = 512L << 20 };

    static IEnumerable<TestCaseData> Layers()
    {
        yield return new TestCaseData(SandboxIsolation.Auto, true).SetName("{m}(auto isolation, guard on)");
        yield return new TestCaseData(SandboxIsolation.ProcessOnly, true).SetName("{m}(process only, guard on)");
        yield return new TestCaseData(SandboxIsolation.Namespaces, false).SetName("{m}(namespaces, guard off)");
    }

    static PythonSandbox Make(SandboxIsolation isolation, bool guard, SandboxLimits? limits = null)
    {
        if (isolation == SandboxIsolation.Namespaces && !PythonSandbox.NamespacesAvailable)
            Assert.Ignore("namespaces need root and unshare");
        return new PythonSandbox(limits ?? Short, isolation, pythonGuard: guard);
    }

    [Test]
    public void CorrectProgramPassesAndWrongOneFails()
    {
        var sandbox = new PythonSandbox(Short);
        var ok = sandbox.Run("def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\nprint('hello')\n");
        Assert.That(ok.Outcome, Is.EqualTo(SandboxOutcome.Passed), ok.Stderr);
        Assert.That(ok.Stdout.Trim(), Is.EqualTo("hello"));

        var wrong = sandbox.Run("def add(a, b):\n    return a - b\n\nassert add(2, 3) == 5\n");
        Assert.That(wrong.Outcome, Is.EqualTo(SandboxOutcome.Failed));
        Assert.That(wrong.Summary, Does.Contain("AssertionError"));

        var syntax = sandbox.Run("def add(a, b)\n    return a + b\n");
        Assert.That(syntax.Outcome, Is.EqualTo(SandboxOutcome.Failed));
        Assert.That(syntax.Summary, Does.Contain("SyntaxError"));
    }

    [TestCase("import sys\nsys.exit(0)\nassert False\n")]
    [TestCase("import os\nos._exit(0)\nassert False\n")]
    [TestCase("raise SystemExit\nassert False\n")]
    [TestCase("import sys, io\nsys.stdout = io.StringIO()\nimport os\nos.close(1)\nassert False\n")]
    public void ExitingBeforeTheTestsIsNotAPass(string program)
    {
        var result = new PythonSandbox(Short).Run(program);
        Assert.That(result.Outcome, Is.EqualTo(SandboxOutcome.Failed), result.Stderr);
    }

    [Test]
    public void LimitsAreVisibleInsideAndUidIsUnprivilegedWhenRoot()
    {
        var result = new PythonSandbox(Short).Run(
            "import resource, os\n" +
            "print(resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_NPROC)[0],\n" +
            "      resource.getrlimit(resource.RLIMIT_FSIZE)[0], os.getuid(), os.getcwd() == os.environ['HOME'])\n");
        Assert.That(result.Passed, result.Stderr);
        var parts = result.Stdout.Trim().Split(' ');
        Assert.That(long.Parse(parts[0]), Is.EqualTo(Short.MemoryBytes));
        Assert.That(long.Parse(parts[1]), Is.EqualTo(Short.MaxProcesses));
        Assert.That(long.Parse(parts[2]), Is.EqualTo(Short.MaxFileBytes));
        if (PythonSandbox.IsRoot) Assert.That(int.Parse(parts[3]), Is.GreaterThanOrEqualTo(200_000));
        Assert.That(parts[4], Is.EqualTo("True"));
    }

    [TestCaseSource(nameof(Layers))]
    public void InfiniteLoopIsKilledAtTheTimeout(SandboxIsolation isolation, bool guard)
    {
        var limits = Short with { Timeout = TimeSpan.FromSeconds(1.5) };
        var clock = Stopwatch.StartNew();
        var result = Make(isolation, guard, limits).Run("while True:\n    pass\n");
        Assert.That(result.Outcome, Is.EqualTo(SandboxOutcome.TimedOut));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(6)));
    }

    [TestCaseSource(nameof(Layers))]
    public void ForkBombIsContainedAndLeavesNoProcessBehind(SandboxIsolation isolation, bool guard)
    {
        var limits = Short with { Timeout = TimeSpan.FromSeconds(2) };
        var program = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n";
        var sandbox = Make(isolation, guard, limits);
        if (!guard && !PythonSandbox.IsRoot) Assert.Ignore("RLIMIT_NPROC on its own needs a dedicated uid");
        var clock = Stopwatch.StartNew();
        var result = sandbox.Run(program);
        Assert.That(result.Passed, Is.False);
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)));
        Thread.Sleep(300);
        Assert.That(SandboxUidProcesses(), Is.Empty, "processes of a sandbox uid survived");
    }

    [TestCaseSource(nameof(Layers))]
    public void HugeAllocationFailsWithoutHurtingTheHarness(SandboxIsolation isolation, bool guard)
    {
        var result = Make(isolation, guard).Run("x = bytearray(64 * 1024 ** 3)\nprint(len(x))\n");
        Assert.That(result.Outcome, Is.EqualTo(SandboxOutcome.Failed));
        Assert.That(result.Summary, Does.Contain("MemoryError"));
        var list = Make(isolation, guard).Run("x = [0] * (10 ** 10)\n");
        Assert.That(list.Outcome, Is.EqualTo(SandboxOutcome.Failed));
    }

    [TestCaseSource(nameof(Layers))]
    public void WriteOutsideTheWorkFolderFails(SandboxIsolation isolation, bool guard)
    {
        var target = Path.Combine(Path.GetTempPath(), $"adaras-escape-{Guid.NewGuid():N}");
        var program = $"open({PyString(target)}, 'w').write('escaped')\n";
        var result = Make(isolation, guard).Run(program);
        Assert.That(result.Outcome, Is.EqualTo(SandboxOutcome.Failed));
        Assert.That(File.Exists(target), Is.False, "the program wrote outside its folder");

        // The same through a descriptor of the outside directory (dir_fd), which path checks alone would miss.
        var viaFd = Make(isolation, guard).Run(
            $"import os\nfd = os.open({PyString(Path.GetTempPath())}, os.O_RDONLY)\n" +
            $"os.close(os.open({PyString(Path.GetFileName(target))}, os.O_WRONLY | os.O_CREAT, dir_fd=fd))\n");
        Assert.That(viaFd.Outcome, Is.EqualTo(SandboxOutcome.Failed));
        Assert.That(File.Exists(target), Is.False, "the program wrote outside its folder through a dir_fd");

        // Writing in its own folder is allowed, and the folder is gone afterwards.
        var inside = Make(isolation, guard).Run(
            "import os, shutil, tempfile\nopen('scratch.txt', 'w').write('ok')\nos.makedirs('a/b')\n" +
            "open('a/b/f.txt', 'w').write('x')\nshutil.rmtree('a')\ntempfile.NamedTemporaryFile().write(b'x')\n" +
            "print(os.getcwd())\n");
        Assert.That(inside.Passed, inside.Stderr);
        Assert.That(Directory.Exists(inside.Stdout.Trim()), Is.False, "work folder not deleted");
    }

    [Test]
    public void FileSizeLimitStopsHugeFiles()
    {
        var limits = Short with { MaxFileBytes = 1 << 20 };
        var result = new PythonSandbox(limits).Run("with open('big.bin', 'wb') as f:\n    f.write(b'x' * (8 << 20))\n");
        Assert.That(result.Outcome, Is.EqualTo(SandboxOutcome.Failed));
        Assert.That(result.Stderr, Does.Contain("File too large").Or.Contain("EFBIG").Or.Contain("27"));
    }

    [TestCaseSource(nameof(Layers))]
    public void NetworkConnectFails(SandboxIsolation isolation, bool guard)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var result = Make(isolation, guard).Run(
            $"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\ns.sendall(b'leak')\n");
        Assert.That(result.Outcome, Is.EqualTo(SandboxOutcome.Failed));
        Assert.That(listener.Pending(), Is.False, "the sandboxed program reached a socket on this machine");
    }

    [Test]
    public void HugeOutputIsCappedAndStillScored()
    {
        var limits = Short with { MaxOutputBytes = 4096 };
        var result = new PythonSandbox(limits).Run("for i in range(200000):\n    print('spam' * 10)\n");
        Assert.That(result.Outcome, Is.EqualTo(SandboxOutcome.Passed), result.Stderr);
        Assert.That(result.Stdout.Length, Is.LessThanOrEqualTo(4096));
    }

    [Test]
    public void CancellationStopsTheRun()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var sandbox = new PythonSandbox(Short with { Timeout = TimeSpan.FromSeconds(30) });
        var clock = Stopwatch.StartNew();
        Assert.That(() => sandbox.Run("while True: pass\n", cts.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public void NonsenseLimitsAreRefused()
    {
        Assert.That(() => new PythonSandbox(new SandboxLimits { Timeout = TimeSpan.Zero }), Throws.ArgumentException);
        Assert.That(() => new PythonSandbox(new SandboxLimits { MemoryBytes = -1 }), Throws.ArgumentException);
    }

    static string PyString(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";

    /// <summary>Live processes owned by the uid range the sandbox draws from.</summary>
    static List<string> SandboxUidProcesses()
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                var status = File.ReadAllLines(Path.Combine(dir, "status"));
                var uidLine = status.FirstOrDefault(l => l.StartsWith("Uid:"));
                var state = status.FirstOrDefault(l => l.StartsWith("State:")) ?? "";
                if (uidLine is null || state.Contains("zombie")) continue;
                var uid = long.Parse(uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);
                if (uid is >= 200_000 and < 300_000) found.Add($"{Path.GetFileName(dir)} uid {uid}");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }
}
