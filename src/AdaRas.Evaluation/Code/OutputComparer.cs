using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AdaRas.Evaluation.Code;

/// <summary>
/// The trusted side of a verdict: a separate <c>python3</c> process (embedded <c>evalplus_compare.py</c>) that
/// never runs model-written code. It decodes the tagged-JSON results a sandboxed run printed and compares them
/// with the canonical solution's under EvalPlus's rules. One long-lived process serves every request
/// (one JSON line each way); it is restarted if it dies.
/// </summary>
internal sealed class OutputComparer : IDisposable
{
    static readonly Lazy<string> Source = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("AdaRas.Evaluation.Code.evalplus_compare.py")
            ?? throw new InvalidOperationException("embedded evalplus_compare.py is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    readonly string _python;
    readonly object _gate = new();
    Process? _process;
    string? _script;

    public OutputComparer(string python) => _python = python;

    /// <summary>Per input: does the result match the expected one.</summary>
    public bool[] Compare(EvalPlusProblem problem, string inputsJson, IReadOnlyList<string> expected, IReadOnlyList<string?> outputs)
    {
        // Expected values and results are already JSON (written by the launcher, checked by JsonDocument).
        var sb = new StringBuilder("{\"dataset\":");
        sb.Append(problem.Dataset == EvalPlusDataset.HumanEval ? "\"humaneval\"" : "\"mbpp\"");
        sb.Append(",\"entry_point\":").Append(JsonSerializer.Serialize(problem.EntryPoint));
        sb.Append(",\"atol\":").Append(problem.Atol.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        if (NeedsInputs(problem)) sb.Append(",\"inputs_json\":").Append(JsonSerializer.Serialize(inputsJson));
        sb.Append(",\"expected\":[").AppendJoin(',', expected).Append("],\"outputs\":[");
        sb.AppendJoin(',', outputs.Select(o => o is null ? "null" : "{\"out\":" + o + "}")).Append("]}");
        var line = sb.ToString();
        lock (_gate)
        {
            for (int attempt = 0; ; attempt++)
            {
                var process = EnsureStarted();
                try
                {
                    process.StandardInput.WriteLine(line);
                    process.StandardInput.Flush();
                    var answer = process.StandardOutput.ReadLine() ?? throw new IOException("the comparer exited");
                    var node = JsonNode.Parse(answer)!;
                    if (node["error"] is { } error) throw new InvalidOperationException($"{problem.TaskId}: comparer failed: {error}");
                    var details = node["details"]!.AsArray().Select(d => d!.GetValue<bool>()).ToArray();
                    if (details.Length != expected.Count) throw new InvalidOperationException($"{problem.TaskId}: comparer returned {details.Length} of {expected.Count}");
                    return details;
                }
                catch (IOException) when (attempt == 0)
                {
                    Stop();
                }
            }
        }
    }

    static bool NeedsInputs(EvalPlusProblem p) => p.EntryPoint is "find_zero" or "surface_Area" or "digit_distance_nums";

    Process EnsureStarted()
    {
        if (_process is { HasExited: false }) return _process;
        Stop();
        _script ??= WriteScript();
        var psi = new ProcessStartInfo(_python, ["-I", "-B", _script])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = false, UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false), StandardOutputEncoding = Encoding.UTF8,
        };
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/bin:/bin";
        psi.Environment["LANG"] = "C.UTF-8";
        _process = Process.Start(psi) ?? throw new SandboxSetupException($"could not start {_python}");
        return _process;
    }

    static string WriteScript()
    {
        var dir = Directory.CreateTempSubdirectory("adaras-compare-").FullName;
        var path = Path.Combine(dir, "evalplus_compare.py");
        File.WriteAllText(path, Source.Value, new UTF8Encoding(false));
        return path;
    }

    void Stop()
    {
        if (_process is null) return;
        try { if (!_process.HasExited) _process.Kill(); } catch (InvalidOperationException) { }
        _process.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            Stop();
            if (_script is not null) try { Directory.Delete(Path.GetDirectoryName(_script)!, true); } catch (IOException) { }
        }
    }
}
