using AdaRas.Tests.Support;
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
        var (code, output, error) = ExternalProcess.Run(program, args, timeout, workingDirectory);
        if (code != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {code}: {error}");
        return output;
    }
}
