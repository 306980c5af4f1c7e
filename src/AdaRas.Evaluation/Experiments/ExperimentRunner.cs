using System.Text;
using System.Text.Json;
using AdaRas.Evaluation.Answers;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Code;
using AdaRas.Evaluation.Prompts;

namespace AdaRas.Evaluation.Experiments;

/// <summary>
/// Produces the model's answer to one sample. The engine implements this (chat template, generation,
/// steering, gate); tests use deterministic fakes.
/// </summary>
public interface IAnswerSource
{
    /// <param name="userMessage">The paper's user message for the sample (<see cref="PromptBuilder"/>).</param>
    SampleAnswer Answer(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken);
}

/// <summary>
/// A generated answer: the whole text (thinking included), its token count and generation time, and the
/// gate's score and decision when a gate ran (<paramref name="Steered"/> also for always-on steering).
/// </summary>
public sealed record SampleAnswer(string Text, int Tokens, double Seconds, double? GateScore = null, bool? Steered = null);

/// <summary>Progress after each sample: <see cref="Done"/> counts resumed samples too; the rate only this run's.</summary>
public sealed record ExperimentProgress(int Done, int Total, int Correct, double SamplesPerSecond, TimeSpan? Eta, string LastId);

public sealed record ExperimentRunOptions
{
    /// <summary>Only the first N samples of the benchmark (applied before sharding).</summary>
    public int? Limit { get; init; }
    public Shard? Shard { get; init; }
    public Action<ExperimentProgress>? Progress { get; init; }
    /// <summary>Defaults to the shipped benchmark or file named by the config's sample_path.</summary>
    public Benchmark? Benchmark { get; init; }
    /// <summary>Defaults to <see cref="MathAnswerChecker"/> or a <see cref="CodeAnswerChecker"/> with a default sandbox.</summary>
    public IAnswerChecker? Checker { get; init; }
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>
/// Runs a config over a benchmark into <c>&lt;results&gt;/&lt;name&gt;/</c> (a shard into
/// <c>&lt;name&gt;/shard-i-of-n/</c>): each finished sample is appended and flushed to <c>output.jsonl</c> at
/// once, <c>summary.json</c> is rewritten atomically at the end (also when cancelled). Rerunning resumes: finished
/// ids are skipped, a line cut short by a kill is dropped and redone, and a folder made by a different config,
/// shard or limit is refused (<c>run.json</c> holds the config hash).
/// </summary>
public sealed class ExperimentRunner(string resultsRoot = "results")
{
    public string ResultsRoot { get; } = Path.GetFullPath(resultsRoot);

    public string FolderFor(ExperimentConfig config, Shard? shard = null) =>
        shard is { } s ? Path.Combine(ResultsRoot, config.Name, s.FolderName) : Path.Combine(ResultsRoot, config.Name);

    public ExperimentSummary Run(ExperimentConfig config, IAnswerSource source, ExperimentRunOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new ExperimentRunOptions();
        var benchmark = options.Benchmark ?? OpenBenchmark(config);
        if (benchmark.Task != config.Task)
            throw new ArgumentException($"config '{config.Name}' is task {config.Task} but benchmark {benchmark.Name} is {benchmark.Task}");
        if (options.Limit is < 1) throw new ArgumentOutOfRangeException(nameof(options), "limit must be at least 1");
        var checker = options.Checker ?? DefaultChecker(config.Task);

        var plan = benchmark.Samples.Take(options.Limit ?? int.MaxValue)
            .Where(s => options.Shard is not { } shard || shard.Contains(s.Index)).ToList();
        var folder = FolderFor(config, options.Shard);
        Directory.CreateDirectory(folder);
        using var folderLock = LockFolder(folder);

        var identity = new RunIdentity
        {
            ConfigHash = config.Hash,
            Benchmark = benchmark.Name,
            BenchmarkCount = benchmark.Count,
            Shard = options.Shard?.ToString(),
            Limit = options.Limit,
            Config = JsonDocument.Parse(config.ToCanonicalJson()).RootElement.Clone(),
        };
        CheckOrWriteIdentity(folder, identity);

        var records = ResultsFolder.ReadRecords(folder, repairTruncatedTail: true);
        var planned = plan.ToDictionary(s => s.Id);
        foreach (var r in records)
            if (!planned.TryGetValue(r.Id, out var s) || s.Index != r.Index)
                throw new InvalidDataException(
                    $"{Path.Combine(folder, ResultsFolder.OutputFile)}: result for id {r.Id} is not in this run's samples " +
                    $"(was it made with a larger --limit or another benchmark file?)");
        var done = records.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var todo = plan.Where(s => !done.Contains(s.Id)).ToList();

        long started = options.Clock.GetTimestamp();
        int newlyDone = 0, correct = records.Count(r => r.Correct);
        try
        {
            using var output = new FileStream(Path.Combine(folder, ResultsFolder.OutputFile), FileMode.Append, FileAccess.Write, FileShare.Read);
            foreach (var sample in todo)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var answer = source.Answer(sample, PromptBuilder.UserMessage(sample, config.Task), cancellationToken);
                var check = checker.Check(sample, answer.Text, cancellationToken);
                var record = new ResultRecord
                {
                    Index = sample.Index,
                    Id = sample.Id,
                    Answer = answer.Text,
                    Extracted = check.Extracted,
                    Correct = check.Correct,
                    Detail = check.Detail,
                    GateScore = answer.GateScore,
                    Steered = answer.Steered,
                    Tokens = answer.Tokens,
                    Seconds = answer.Seconds,
                };
                output.Write(Encoding.UTF8.GetBytes(ResultsFolder.Serialize(record) + "\n"));
                output.Flush(flushToDisk: true);
                records.Add(record);
                newlyDone++;
                if (record.Correct) correct++;
                options.Progress?.Invoke(Progress(options.Clock, started, newlyDone, records.Count, plan.Count, correct, sample.Id));
            }
        }
        finally
        {
            ResultsFolder.WriteSummary(folder, ResultsFolder.Summarize(config.Name, config.Hash, benchmark.Name,
                config.Task.ToString().ToLowerInvariant(), options.Shard?.ToString(), options.Limit, plan.Count, records));
        }
        return ResultsFolder.ReadSummary(folder);
    }

    /// <summary>The config's sample_path: a JSONL file (beside the config or from here) or a shipped benchmark name.</summary>
    public static Benchmark OpenBenchmark(ExperimentConfig config) =>
        BenchmarkCatalog.Open(config.TryResolvePath(config.SamplePath) is { } path && File.Exists(path) ? path : config.SamplePath, config.Task);

    static ExperimentProgress Progress(TimeProvider clock, long started, int newlyDone, int done, int total, int correct, string lastId)
    {
        var elapsed = clock.GetElapsedTime(started).TotalSeconds;
        double rate = elapsed > 0 ? newlyDone / elapsed : 0;
        TimeSpan? eta = rate > 0 ? TimeSpan.FromSeconds((total - done) / rate) : null;
        return new ExperimentProgress(done, total, correct, rate, eta, lastId);
    }

    static IAnswerChecker DefaultChecker(BenchmarkTask task) =>
        task == BenchmarkTask.Math ? new MathAnswerChecker() : new CodeAnswerChecker(new PythonSandbox());

    static void CheckOrWriteIdentity(string folder, RunIdentity identity)
    {
        var existing = ResultsFolder.ReadIdentity(folder);
        if (existing is null)
        {
            if (File.Exists(Path.Combine(folder, ResultsFolder.OutputFile)))
                throw new InvalidDataException($"{folder}: has {ResultsFolder.OutputFile} but no {ResultsFolder.IdentityFile}; refusing to mix results");
            ResultsFolder.WriteIdentity(folder, identity);
            return;
        }
        string? clash =
            existing.ConfigHash != identity.ConfigHash ? $"config hash {existing.ConfigHash[..12]}, this config {identity.ConfigHash[..12]}"
            : existing.Shard != identity.Shard ? $"shard {existing.Shard ?? "none"}, this run {identity.Shard ?? "none"}"
            : existing.Benchmark != identity.Benchmark || existing.BenchmarkCount != identity.BenchmarkCount
                ? $"benchmark {existing.Benchmark} ({existing.BenchmarkCount}), this run {identity.Benchmark} ({identity.BenchmarkCount})"
            : null;
        if (clash is not null)
            throw new InvalidOperationException($"{folder} holds results of a different run ({clash}); use another name or remove the folder");
        if (existing.Limit != identity.Limit) ResultsFolder.WriteIdentity(folder, identity); // a larger limit extends the run
    }

    /// <summary>Two runners on one folder would interleave lines; the second fails instead.</summary>
    static FileStream LockFolder(string folder)
    {
        var path = Path.Combine(folder, ".lock");
        try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose); }
        catch (IOException e) { throw new IOException($"{folder} is in use by another run ({e.Message})", e); }
    }
}
