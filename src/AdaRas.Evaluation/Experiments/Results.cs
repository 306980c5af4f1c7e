using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AdaRas.Model;

namespace AdaRas.Evaluation.Experiments;

/// <summary>One line of <c>output.jsonl</c>: a finished sample.</summary>
internal sealed record ResultRecord
{
    /// <summary>Position in the benchmark file; orders results and pairs runs.</summary>
    public required int Index { get; init; }
    public required string Id { get; init; }
    /// <summary>The model's whole generated text.</summary>
    public required string Answer { get; init; }
    /// <summary>The boxed answer, or the program that was run; null when none was found.</summary>
    public string? Extracted { get; init; }
    /// <summary>The verdict: for code, EvalPlus's base+plus (the paper's number).</summary>
    public required bool Correct { get; init; }
    /// <summary>Code only: EvalPlus's base tests alone (reported apart from base+plus, as EvalPlus does); absent for math.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? CorrectBase { get; init; }
    public string? Detail { get; init; }
    public double? GateScore { get; init; }
    /// <summary>Whether steering was applied to this sample (null when the run has no intervention).</summary>
    public bool? Steered { get; init; }
    public required int Tokens { get; init; }
    public required double Seconds { get; init; }
}

/// <summary><c>summary.json</c>: totals over the finished samples of a run (or of merged shards).</summary>
internal sealed record ExperimentSummary
{
    public required string Name { get; init; }
    public required string ConfigHash { get; init; }
    public required string Benchmark { get; init; }
    public required string Task { get; init; }
    /// <summary>"i/n" for a shard, null for a whole run.</summary>
    public string? Shard { get; init; }
    public int? Limit { get; init; }
    public required int Planned { get; init; }
    public required int Finished { get; init; }
    public required int Correct { get; init; }
    public required double Accuracy { get; init; }
    /// <summary>Code only: samples passing EvalPlus's base tests (<see cref="Correct"/> is base+plus); absent for math.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? CorrectBase { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? AccuracyBase { get; init; }
    public required double MeanTokens { get; init; }
    public required double MeanSeconds { get; init; }
    /// <summary>Samples that were steered (null when no sample reported a decision).</summary>
    public int? Steered { get; init; }
    /// <summary>Outputs whose thought never closed (no <c>&lt;/think&gt;</c>: they ran out of tokens); null in summaries written before it was counted.</summary>
    public int? Unfinished { get; init; }
    public required bool Complete { get; init; }
}

/// <summary><c>run.json</c>: what a results folder belongs to, checked before resuming or merging.</summary>
internal sealed record RunIdentity
{
    public required string ConfigHash { get; init; }
    public required string Benchmark { get; init; }
    public required int BenchmarkCount { get; init; }
    /// <summary>SHA-256 of every sample's content (<see cref="Benchmarks.BenchmarkHash"/>); null in folders written before it was recorded.</summary>
    public string? BenchmarkHash { get; init; }
    /// <summary>The model's identity hash (its weights, not its path); null in older folders or without a model.</summary>
    public string? ModelId { get; init; }
    public string? Shard { get; init; }
    public int? Limit { get; init; }
    public required JsonElement Config { get; init; }
    /// <summary>Null when the engine generated the answers; else where they came from (<see cref="ExperimentRunOptions.AnswersOrigin"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Answers { get; init; }
}

/// <summary>The files of a results folder: <c>run.json</c>, <c>output.jsonl</c>, <c>summary.json</c>.</summary>
internal static class ResultsFolder
{
    public const string IdentityFile = "run.json";
    public const string OutputFile = "output.jsonl";
    public const string SummaryFile = "summary.json";

    internal static readonly JsonSerializerOptions LineJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    internal static readonly JsonSerializerOptions FileJson = new(LineJson) { WriteIndented = true };

    public static string Serialize(ResultRecord record) => JsonSerializer.Serialize(record, LineJson);

    public static RunIdentity? ReadIdentity(string folder)
    {
        var path = Path.Combine(folder, IdentityFile);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<RunIdentity>(File.ReadAllText(path), FileJson) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new AdaRas.Files.InputException($"{path}: unreadable run identity ({e.Message})", e); }
    }

    internal static void WriteIdentity(string folder, RunIdentity identity) =>
        AtomicFile.WriteAllText(Path.Combine(folder, IdentityFile), JsonSerializer.Serialize(identity, FileJson) + "\n");

    public static ExperimentSummary ReadSummary(string folder)
    {
        var path = Path.Combine(folder, SummaryFile);
        try { return JsonSerializer.Deserialize<ExperimentSummary>(File.ReadAllText(path), FileJson) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new AdaRas.Files.InputException($"{path}: unreadable summary ({e.Message})", e); }
    }

    internal static void WriteSummary(string folder, ExperimentSummary summary) =>
        AtomicFile.WriteAllText(Path.Combine(folder, SummaryFile), JsonSerializer.Serialize(summary, FileJson) + "\n");

    /// <summary>
    /// The finished records of a folder, in file order. A last line without its newline is the trace of a
    /// run killed while writing: with <paramref name="repairTruncatedTail"/> it is cut off the file (the
    /// sample runs again), otherwise ignored. Any other bad line is an error naming file and line.
    /// </summary>
    public static List<ResultRecord> ReadRecords(string folder, bool repairTruncatedTail = false)
    {
        var path = Path.Combine(folder, OutputFile);
        var records = new List<ResultRecord>();
        if (!File.Exists(path)) return records;
        var bytes = File.ReadAllBytes(path);
        int lastNewline = Array.LastIndexOf(bytes, (byte)'\n');
        int complete = lastNewline + 1;
        if (complete < bytes.Length && repairTruncatedTail)
            using (var f = new FileStream(path, FileMode.Open, FileAccess.Write)) { f.SetLength(complete); f.Flush(true); }

        var text = Encoding.UTF8.GetString(bytes, 0, complete);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            ResultRecord? record;
            try { record = JsonSerializer.Deserialize<ResultRecord>(line, LineJson); }
            catch (JsonException e) { throw new AdaRas.Files.InputException($"{path}:{lineNumber}: bad result line ({e.Message})", e); }
            if (record is null) throw new AdaRas.Files.InputException($"{path}:{lineNumber}: bad result line (null)");
            if (seen.TryGetValue(record.Id, out var first))
                throw new AdaRas.Files.InputException($"{path}:{lineNumber}: duplicate id {record.Id} (first at line {first})");
            seen[record.Id] = lineNumber;
            records.Add(record);
        }
        return records;
    }

    internal static ExperimentSummary Summarize(string name, string configHash, string benchmark, string task, string? shard,
        int? limit, int planned, IReadOnlyCollection<ResultRecord> records)
    {
        int finished = records.Count;
        int correct = records.Count(r => r.Correct);
        var decisions = records.Where(r => r.Steered is not null).ToList();
        int? correctBase = records.Any(r => r.CorrectBase is not null) ? records.Count(r => r.CorrectBase == true) : null;
        return new ExperimentSummary
        {
            Name = name,
            ConfigHash = configHash,
            Benchmark = benchmark,
            Task = task,
            Shard = shard,
            Limit = limit,
            Planned = planned,
            Finished = finished,
            Correct = correct,
            Accuracy = finished == 0 ? 0 : Math.Round((double)correct / finished, 6),
            CorrectBase = correctBase,
            AccuracyBase = correctBase is { } b ? Math.Round((double)b / finished, 6) : null,
            MeanTokens = finished == 0 ? 0 : Math.Round(records.Average(r => (double)r.Tokens), 3),
            MeanSeconds = finished == 0 ? 0 : Math.Round(records.Average(r => r.Seconds), 6),
            Steered = decisions.Count == 0 ? null : decisions.Count(r => r.Steered == true),
            Unfinished = records.Count(r => AdaRas.Evaluation.Answers.ModelOutput.IsUnfinished(r.Answer)),
            Complete = finished == planned,
        };
    }
}

/// <summary>Which part of a benchmark a run covers: shard <see cref="Index"/> of <see cref="Count"/> (1-based).</summary>
internal readonly record struct Shard
{
    public int Index { get; }
    public int Count { get; }

    public Shard(int index, int count)
    {
        if (count < 1 || index < 1 || index > count) throw new AdaRas.Files.UsageException($"shard {index}/{count}: need 1 <= i <= n");
        Index = index;
        Count = count;
    }

    /// <summary>Parses "i/n", e.g. "2/4".</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            throw new AdaRas.Files.UsageException($"shard '{text}' must look like i/n, e.g. 2/4");
        return new Shard(i, n);
    }

    /// <summary>The environment variable a Kubernetes Indexed Job sets to the pod's 0-based completion index.</summary>
    public const string IndexVariable = "JOB_COMPLETION_INDEX";
    /// <summary>The shard count for <c>--shard auto</c>: set it to the Job's <c>spec.completions</c> (Kubernetes does not export it).</summary>
    public const string CountVariable = "JOB_COMPLETIONS";

    /// <summary>
    /// "i/n", or "auto": shard <c>JOB_COMPLETION_INDEX + 1</c> of <c>JOB_COMPLETIONS</c>, read through
    /// <paramref name="environment"/> (so a Kubernetes Indexed Job needs no glue script).
    /// </summary>
    public static Shard Resolve(string text, Func<string, string?> environment)
    {
        if (text != "auto") return Parse(text);
        string? index = environment(IndexVariable), count = environment(CountVariable);
        if (string.IsNullOrEmpty(index) || string.IsNullOrEmpty(count))
            throw new AdaRas.Files.UsageException($"--shard auto reads {IndexVariable} (0-based, set by a Kubernetes Indexed Job) and {CountVariable} " +
                $"(the Job's completions); {(string.IsNullOrEmpty(index) ? IndexVariable : CountVariable)} is not set");
        if (!int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out int i) || !int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            throw new AdaRas.Files.UsageException($"--shard auto: {IndexVariable}='{index}' and {CountVariable}='{count}' must be non-negative integers");
        if (n < 1 || i >= n) throw new AdaRas.Files.UsageException($"--shard auto: {IndexVariable}={i} must be below {CountVariable}={n}");
        return new Shard(i + 1, n);
    }

    /// <summary>Samples are dealt round-robin so every shard gets a similar mix.</summary>
    public bool Contains(int sampleIndex) => sampleIndex % Count == Index - 1;

    public string FolderName => $"shard-{Index}-of-{Count}";

    public override string ToString() => $"{Index}/{Count}";
}
