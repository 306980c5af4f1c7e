using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AdaRas.Evaluation.Code;

/// <summary>What one sandboxed run printed, per part: each input's result (tagged JSON) or its error.</summary>
internal sealed class RunOutputs
{
    public string? Sanitized;
    public string? LoadError;
    public bool Done;
    public readonly Dictionary<string, Dictionary<int, (string? Out, string? Error, double Seconds)>> Parts = new();

    /// <summary>Reads the launcher's lines. Lines that are not the launcher's shape (a program can print
    /// anything on that pipe) are skipped: they can only stand in for its own results, never for a verdict.</summary>
    static readonly JsonDocumentOptions DeepValues = new() { MaxDepth = 1024 };

    public static Dictionary<string, RunOutputs> Parse(string stdout, string defaultTask)
    {
        var byTask = new Dictionary<string, RunOutputs>(StringComparer.Ordinal);
        var current = new RunOutputs();
        byTask[defaultTask] = current;
        string part = "base";
        foreach (var line in stdout.Split('\n'))
        {
            if (line.Length == 0 || line[0] != '{') continue;
            try
            {
                using var doc = JsonDocument.Parse(line, DeepValues);
                var r = doc.RootElement;
                if (r.ValueKind != JsonValueKind.Object) continue;
                if (r.TryGetProperty("task", out var task) && task.GetString() is { } t) { byTask[t] = current = new RunOutputs(); part = "base"; }
                else if (r.TryGetProperty("part", out var p) && p.GetString() is "base" or "plus") part = p.GetString()!;
                else if (r.TryGetProperty("sanitized", out var s)) current.Sanitized = s.GetString();
                else if (r.TryGetProperty("load_error", out var e)) current.LoadError = e.GetString();
                else if (r.TryGetProperty("done", out _)) foreach (var o in byTask.Values) o.Done = true;
                else if (r.TryGetProperty("i", out var i) && i.TryGetInt32(out int index))
                {
                    if (!current.Parts.TryGetValue(part, out var results)) current.Parts[part] = results = new();
                    double seconds = r.TryGetProperty("t", out var tt) && tt.TryGetDouble(out var d) ? d : 0;
                    results[index] = r.TryGetProperty("out", out var o) ? (o.GetRawText(), null, seconds)
                        : (null, r.TryGetProperty("error", out var err) ? err.ToString() : "error", seconds);
                }
            }
            catch (JsonException) { }
        }
        return byTask;
    }
}

/// <summary>The canonical solution's outputs (tagged JSON) and timings for the base and plus inputs.</summary>
internal sealed record ExpectedOutputs(string[] Base, string[] Plus, double[] BaseSeconds, double[] PlusSeconds)
{
    public long Bytes => Base.Sum(s => (long)s.Length) + Plus.Sum(s => (long)s.Length);
}

/// <summary>
/// Expected outputs come from running each canonical solution once (in the sandbox too: EvalPlus runs it
/// unsandboxed, but nothing from the data is trusted here), then live on disk keyed by the problem's content
/// hash and the launcher's, under <c>$ADARAS_CACHE</c> or <c>~/.cache/adaras</c>.
/// </summary>
internal static class ReferenceOutputs
{
    static readonly ConcurrentDictionary<string, Lazy<ExpectedOutputs>> Memo = new();

    public static string CacheDirectory => Path.Combine(
        Environment.GetEnvironmentVariable("ADARAS_CACHE") is { Length: > 0 } c ? c
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "adaras"), "evalplus-expected");

    public static ExpectedOutputs Get(EvalPlusProblem problem, PythonSandbox sandbox, CancellationToken cancellationToken)
    {
        var key = Key(problem);
        var lazy = Memo.GetOrAdd(key, _ => new Lazy<ExpectedOutputs>(() => LoadOrCompute(problem, sandbox, cancellationToken)));
        try { return lazy.Value; }
        catch { Memo.TryRemove(key, out _); throw; }
    }

    /// <summary>
    /// Computes the missing expected outputs of many problems with one sandboxed run per
    /// <paramref name="batch"/> problems (fewer process starts than one run each), runs in parallel.
    /// </summary>
    public static void Prefetch(IEnumerable<EvalPlusProblem> problems, PythonSandbox sandbox, int batch = 16, CancellationToken cancellationToken = default)
    {
        var missing = problems.Where(p => !Memo.ContainsKey(Key(p)) && TryLoad(p) is null).ToList();
        Parallel.ForEach(missing.Chunk(batch), new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
            chunk =>
            {
                foreach (var (problem, outputs) in Compute(chunk, sandbox, cancellationToken))
                {
                    Store(problem, outputs);
                    Memo.TryAdd(Key(problem), new Lazy<ExpectedOutputs>(outputs));
                }
            });
    }

    static string Key(EvalPlusProblem problem) => problem.TaskId + "@" + problem.ContentHash;

    static string CacheFile(EvalPlusProblem problem)
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(problem.ContentHash + "\n" + PythonSandbox.LauncherHash)))[..24];
        return Path.Combine(CacheDirectory, problem.TaskId.Replace('/', '-') + "-" + hash + ".json");
    }

    static ExpectedOutputs? TryLoad(EvalPlusProblem problem)
    {
        var file = CacheFile(problem);
        try
        {
            if (File.Exists(file) && JsonSerializer.Deserialize<ExpectedOutputs>(File.ReadAllText(file)) is { } cached
                && cached.Base.Length == problem.BaseCount && cached.Plus.Length == problem.PlusCount)
                return cached;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException) { /* recompute */ }
        return null;
    }

    static ExpectedOutputs LoadOrCompute(EvalPlusProblem problem, PythonSandbox sandbox, CancellationToken cancellationToken)
    {
        if (TryLoad(problem) is { } cached) return cached;
        var computed = Compute([problem], sandbox, cancellationToken)[0].Outputs;
        Store(problem, computed);
        return computed;
    }

    internal static void Store(EvalPlusProblem problem, ExpectedOutputs computed)
    {
        var file = CacheFile(problem);
        try
        {
            Directory.CreateDirectory(CacheDirectory);
            var temp = file + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(computed));
            File.Move(temp, file, overwrite: true);
            // Entries of this task under another key (other EvalPlus data, an older launcher) are never read again:
            // without this the cache grew by the whole set (about 300 MB for HumanEval+) at every launcher change.
            foreach (var stale in Directory.EnumerateFiles(CacheDirectory, problem.TaskId.Replace('/', '-') + "-*.json"))
                if (stale != file && Path.GetFileName(stale).Length == Path.GetFileName(file).Length) File.Delete(stale);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"warning: could not cache EvalPlus expected outputs in {CacheDirectory}: {e.Message}");
        }
    }

    static List<(EvalPlusProblem Problem, ExpectedOutputs Outputs)> Compute(IReadOnlyList<EvalPlusProblem> problems, PythonSandbox sandbox,
        CancellationToken cancellationToken)
    {
        var reference = sandbox.WithLimits(sandbox.Limits with { Timeout = TimeSpan.FromMinutes(20), MemoryBytes = 4L << 30 });
        var job = new Dictionary<string, object?>
        {
            ["mode"] = "reference",
            ["tasks"] = problems.Select((problem, k) => new Dictionary<string, object?>
            {
                ["task_id"] = problem.TaskId, ["source"] = problem.CanonicalProgram, ["entry_point"] = problem.EntryPoint,
                ["base_inputs"] = $"base{k}.json", ["plus_inputs"] = $"plus{k}.json", ["output_not_none"] = problem.OutputNotNone,
            }).ToArray(),
        };
        var files = problems.SelectMany((problem, k) => new[] { ($"base{k}.json", problem.BaseInputsJson), ($"plus{k}.json", problem.PlusInputsJson) });
        var run = reference.Execute(job, files, reference.Limits.Timeout, int.MaxValue, cancellationToken);
        var byTask = RunOutputs.Parse(run.Stdout, "");
        return problems.Select(problem => (problem, Collect(problem, run, byTask.GetValueOrDefault(problem.TaskId) ?? new RunOutputs()))).ToList();
    }

    static ExpectedOutputs Collect(EvalPlusProblem problem, PythonSandbox.RawRun run, RunOutputs outputs)
    {
        if (run.TimedOut || run.ExitCode != 0 || !outputs.Done)
            throw new InvalidOperationException($"{problem.TaskId}: the canonical solution did not finish " +
                $"({(run.TimedOut ? "timeout" : $"exit {run.ExitCode}")}: {SandboxResult.LastErrorLine(run.Stderr)})");
        (string[], double[]) Part(string name, int count)
        {
            var values = new string[count];
            var seconds = new double[count];
            var results = outputs.Parts.GetValueOrDefault(name) ?? new();
            for (int i = 0; i < count; i++)
            {
                if (!results.TryGetValue(i, out var r) || r.Out is null)
                    throw new InvalidOperationException($"{problem.TaskId}: the canonical solution failed on {name} input {i}: {r.Error ?? "no result"}");
                values[i] = r.Out;
                seconds[i] = r.Seconds;
            }
            return (values, seconds);
        }
        var (b, bt) = Part("base", problem.BaseCount);
        var (p, pt) = Part("plus", problem.PlusCount);
        return new ExpectedOutputs(b, p, bt, pt);
    }
}
