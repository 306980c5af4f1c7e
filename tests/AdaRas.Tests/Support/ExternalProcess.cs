using System.Diagnostics;

namespace AdaRas.Tests.Support;

/// <summary>Runs a tool the tests call (node, bash, kubectl) to completion and hands back what it printed.</summary>
static class ExternalProcess
{
    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="args"/>; the whole process tree is killed and
    /// <see cref="TimeoutException"/> thrown when it runs past <paramref name="timeout"/>.
    /// </summary>
    public static (int Code, string Output, string Error) Run(string program, IEnumerable<string> args, TimeSpan timeout,
        string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null) info.WorkingDirectory = workingDirectory;
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', info.ArgumentList)} did not finish in {timeout}");
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}
