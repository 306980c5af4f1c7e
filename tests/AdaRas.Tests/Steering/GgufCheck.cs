using System.Diagnostics;
using System.Text.Json;

namespace AdaRas.Tests.Steering;

/// <summary>
/// Runs the independent GGUF reader in tools/gguf-check (node + @huggingface/gguf, pinned by its
/// package-lock.json) on a file and returns what it printed. Installs the reader on first use.
/// </summary>
public static class GgufCheck
{
    static string? _folder;

    static string Folder
    {
        get
        {
            if (_folder is not null) return _folder;
            for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tools", "gguf-check");
                if (File.Exists(Path.Combine(candidate, "check.mjs")))
                {
                    Run("bash", [Path.Combine(candidate, "setup.sh")], candidate, TimeSpan.FromMinutes(5));
                    return _folder = candidate;
                }
            }
            throw new InvalidOperationException("tools/gguf-check not found above the test directory");
        }
    }

    public static JsonElement Read(string ggufPath)
    {
        var json = Run("node", [Path.Combine(Folder, "check.mjs"), ggufPath], Folder, TimeSpan.FromMinutes(1));
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    static string Run(string program, string[] args, string workingDirectory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program} (is node 20+ installed?)");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {timeout}");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }
}
