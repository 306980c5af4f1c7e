using System.Diagnostics;
using System.Text;

namespace AdaRas.Tests.Reliability;

/// <summary>
/// The built `adaras` command as a child process (the real executable: its own signal handling, its own exit code),
/// optionally as another user via <c>setpriv</c>, with stderr collected as it arrives.
/// </summary>
sealed class ChildAdaras : IDisposable
{
    readonly Process _process;
    readonly StringBuilder _error = new();
    readonly StringBuilder _out = new();

    public ChildAdaras(IEnumerable<string> args, IDictionary<string, string>? environment = null, int? runAsUid = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "adaras.dll");
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (runAsUid is { } uid)
        {
            start.FileName = "setpriv";
            foreach (var a in new[] { $"--reuid={uid}", $"--regid={uid}", "--clear-groups", dotnet, dll }) start.ArgumentList.Add(a);
            start.Environment["HOME"] = Path.GetTempPath();
            start.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        }
        else
        {
            // A shell running this test in the background hands its children SIGINT ignored, and the runtime keeps an
            // inherited SIG_IGN: restore the default disposition, as an interactive terminal has it.
            start.FileName = "env";
            foreach (var a in new[] { "--default-signal=INT,TERM", dotnet, dll }) start.ArgumentList.Add(a);
        }
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_NOLOGO"] = "1";
        if (environment is not null) foreach (var (k, v) in environment) start.Environment[k] = v;
        _process = Process.Start(start)!;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_error) _error.AppendLine(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public int Pid => _process.Id;
    public string Error { get { lock (_error) return _error.ToString(); } }
    public string Out { get { lock (_out) return _out.ToString(); } }

    /// <summary>Waits until <paramref name="ready"/> holds (polled), failing if the process ends first or time runs out.</summary>
    public void WaitUntil(Func<bool> ready, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!ready())
        {
            if (_process.HasExited) Assert.Fail($"adaras exited ({_process.ExitCode}) before {what}:\n{Error}");
            if (clock.Elapsed > timeout) Assert.Fail($"no {what} within {timeout.TotalSeconds} s:\n{Error}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Sends a real signal (kill -INT / -TERM) to the child.</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{name}", Pid.ToString()]) { UseShellExecute = false })!;
        kill.WaitForExit();
        Assert.That(kill.ExitCode, Is.Zero, $"kill -{name} {Pid}");
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"adaras did not exit within {timeout.TotalSeconds} s:\n{Error}");
        }
        _process.WaitForExit();   // drains the redirected streams
        return _process.ExitCode;
    }

    public static (int Code, string Out, string Error) Run(IEnumerable<string> args, TimeSpan timeout,
        IDictionary<string, string>? environment = null, int? runAsUid = null)
    {
        using var child = new ChildAdaras(args, environment, runAsUid);
        int code = child.WaitForExit(timeout);
        return (code, child.Out, child.Error);
    }

    public void Dispose()
    {
        if (!_process.HasExited) try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
