using System.Text;
using System.Text.Json;
using AdaRas.Evaluation.Answers;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Code;
using AdaRas.Evaluation.Prompts;
using AdaRas.Engine;
using AdaRas.Model;

namespace AdaRas.Evaluation.Experiments;

/// <summary>
/// Produces the model's answer to one sample. The engine implements this (chat template, generation,
/// steering, gate); tests use deterministic fakes.
/// </summary>
internal interface IAnswerSource
{
    /// <param name="userMessage">The paper's user message for the sample (<see cref="PromptBuilder"/>).</param>
    SampleAnswer Answer(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken);

    /// <summary>
    /// The identity of the model behind the answers (its weights' hash), recorded in <c>run.json</c> so a resume with
    /// another model at the same path is refused; null when the source has none (test fakes).
    /// </summary>
    string? ModelId => null;
}

/// <summary>
/// An answer source that answers many samples together (continuous batching). The runner hands it every sample
/// still to do; it yields each answer as soon as it is finished, in any order, and the same answers at any batch size.
/// </summary>
internal interface IBatchAnswerSource : IAnswerSource
{
    IEnumerable<(BenchmarkSample Sample, SampleAnswer Answer)> AnswerAll(IReadOnlyList<(BenchmarkSample Sample, string UserMessage)> work,
        int batchSize, CancellationToken cancellationToken);
}

/// <summary>
/// A generated answer: the whole text (thinking included), its token count and generation time, and the
/// gate's score and decision when a gate ran (<paramref name="Steered"/> also for always-on steering).
/// </summary>
internal sealed record SampleAnswer(string Text, int Tokens, double Seconds, double? GateScore = null, bool? Steered = null)
{
    /// <summary>Why the sample was not run (its prompt cannot fit the model's context); it is recorded as failed with this reason.</summary>
    public string? NotRun { get; init; }
}

/// <summary>Progress after each sample: <see cref="Done"/> counts resumed samples too; the rate only this run's.</summary>
internal sealed record ExperimentProgress(int Done, int Total, int Correct, double SamplesPerSecond, TimeSpan? Eta, string LastId);

internal sealed record ExperimentRunOptions
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
    /// <summary>
    /// Where the answers come from when not generated here (e.g. <c>answers:&lt;sha256 of the file&gt;</c> for
    /// <see cref="ImportedAnswers"/>); recorded in <c>run.json</c>, so a folder never mixes answers of two origins.
    /// </summary>
    public string? AnswersOrigin { get; init; }

    /// <summary>Samples decoded together by a batching source (not part of the run's identity: answers do not depend on it).</summary>
    public int BatchSize { get; init; } = 1;
}

/// <summary>
/// Runs a config over a benchmark into <c>&lt;results&gt;/&lt;name&gt;/</c> (a shard into
/// <c>&lt;name&gt;/shard-i-of-n/</c>): each finished sample is appended and flushed to <c>output.jsonl</c> at
/// once, <c>summary.json</c> is rewritten atomically at the end (also when cancelled). Rerunning resumes: finished
/// ids are skipped, a line cut short by a kill is dropped and redone, and a folder made by a different config,
/// shard or limit is refused (<c>run.json</c> holds the config hash).
/// </summary>
internal sealed class ExperimentRunner(string resultsRoot = "results")
{
    public string ResultsRoot { get; } = Path.GetFullPath(resultsRoot);

    public string FolderFor(ExperimentConfig config, Shard? shard = null) =>
        shard is { } s ? Path.Combine(ResultsRoot, config.Name, s.FolderName) : Path.Combine(ResultsRoot, config.Name);

// Long on purpose: locking, identity check, resume, the sample loop and the summary share the open results file
// and lock, whose lifetimes this one method makes visible (try/finally); the steps are each a few lines.
    public ExperimentSummary Run(ExperimentConfig config, IAnswerSource source, ExperimentRunOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new ExperimentRunOptions();
        var benchmark = options.Benchmark ?? OpenBenchmark(config);
        if (benchmark.Task != config.Task)
            throw new InputException(config.SourceFile, null, $"config '{config.Name}' is task {config.Task} but benchmark {benchmark.Name} is {benchmark.Task}");
        if (options.Limit is < 1) throw new UsageException($"--limit must be at least 1, not {options.Limit}");
        if (options.BatchSize < 1) throw new UsageException($"--batch must be at least 1, not {options.BatchSize}");
        var checker = options.Checker ?? DefaultChecker(config);

        var plan = Plan(benchmark, options);
        if (config.Task == BenchmarkTask.Code && options.Checker is null) RequireEvalPlusTasks(benchmark, plan);
        var folder = FolderFor(config, options.Shard);
        Directory.CreateDirectory(folder);
        using var folderLock = LockFolder(folder);

        var identity = new RunIdentity
        {
            ConfigHash = config.Hash,
            Benchmark = benchmark.Name,
            BenchmarkCount = benchmark.Count,
            BenchmarkHash = BenchmarkHash.Compute(benchmark),
            ModelId = source.ModelId,
            Shard = options.Shard?.ToString(),
            Limit = options.Limit,
            Config = JsonDocument.Parse(config.ToCanonicalJson()).RootElement.Clone(),
            Answers = options.AnswersOrigin,
        };
        CheckOrWriteIdentity(folder, identity);

        var records = ResultsFolder.ReadRecords(folder, repairTruncatedTail: true);
        var planned = plan.ToDictionary(s => s.Id);
        foreach (var r in records)
            if (!planned.TryGetValue(r.Id, out var s) || s.Index != r.Index)
                throw new InputException(Path.Combine(folder, ResultsFolder.OutputFile), null,
                    $"result for id {r.Id} is not in this run's samples (was it made with a larger --limit or another benchmark file?)");
        var done = records.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var todo = plan.Where(s => !done.Contains(s.Id)).ToList();

        long started = options.Clock.GetTimestamp();
        int newlyDone = 0, correct = records.Count(r => r.Correct);
        try
        {
            using var output = new FileStream(Path.Combine(folder, ResultsFolder.OutputFile), FileMode.Append, FileAccess.Write, FileShare.Read);
            // A batching source finishes samples out of order; each is still written and flushed the moment it is done.
            // A sample whose prompt cannot fit the context comes back as not run (SampleAnswer.NotRun) and becomes a
            // failed record with its reason; the batch goes on.
            var produced = source is IBatchAnswerSource batched && options.BatchSize > 1
                ? batched.AnswerAll(todo.Select(s => (s, PromptBuilder.UserMessage(s, config.Task))).ToList(), options.BatchSize, cancellationToken)
                    .Select(x => Record(x.Sample, x.Answer, checker, config.Task, cancellationToken))
                : todo.Select(sample => RunSample(sample, source, checker, config.Task, cancellationToken));
            foreach (var record in produced)
            {
                output.Write(Encoding.UTF8.GetBytes(ResultsFolder.Serialize(record) + "\n"));
                output.Flush(flushToDisk: true);
                records.Add(record);
                newlyDone++;
                if (record.Correct) correct++;
                options.Progress?.Invoke(Progress(options.Clock, started, newlyDone, records.Count, plan.Count, correct, record.Id));
            }
        }
        finally
        {
            // A batching source finishes samples out of order, and each line was flushed the moment it was done (a
            // kill loses nothing finished). Put the file back in sample order, so it reads as a batch-1 run's does.
            if (!records.Select(r => r.Index).SequenceEqual(records.Select(r => r.Index).Order()))
            {
                records = records.OrderBy(r => r.Index).ToList();
                AtomicFile.WriteAllText(Path.Combine(folder, ResultsFolder.OutputFile),
                    string.Concat(records.Select(r => ResultsFolder.Serialize(r) + "\n")));
            }
            ResultsFolder.WriteSummary(folder, ResultsFolder.Summarize(config.Name, config.Hash, benchmark.Name,
                config.Task.ToString().ToLowerInvariant(), options.Shard?.ToString(), options.Limit, plan.Count, records));
        }
        return ResultsFolder.ReadSummary(folder);
    }

    /// <summary>
    /// One sample: answer, check, record. A sample whose prompt does not fit the model's context becomes a failed
    /// record with the reason, so one over-long question does not stop (every rerun of) a long eval.
    /// </summary>
    static ResultRecord RunSample(BenchmarkSample sample, IAnswerSource source, IAnswerChecker checker, BenchmarkTask task,
        CancellationToken cancellationToken)
    {
        SampleAnswer answer;
        cancellationToken.ThrowIfCancellationRequested();
        try { answer = source.Answer(sample, PromptBuilder.UserMessage(sample, task), cancellationToken); }
        catch (ContextLengthException e)
        {
            answer = new SampleAnswer("", 0, 0) { NotRun = e.Problem };
        }
        return Record(sample, answer, checker, task, cancellationToken);
    }

    static ResultRecord Record(BenchmarkSample sample, SampleAnswer answer, IAnswerChecker checker, BenchmarkTask task, CancellationToken cancellationToken)
    {
        if (answer.NotRun is { } reason)
            return new ResultRecord
            {
                Index = sample.Index, Id = sample.Id, Answer = "", Extracted = null, Correct = false,
                CorrectBase = task == BenchmarkTask.Code ? false : null,
                Detail = $"not run: {reason}", Tokens = 0, Seconds = 0,
            };
        var check = checker.Check(sample, answer.Text, cancellationToken);
        return new ResultRecord
        {
            Index = sample.Index,
            Id = sample.Id,
            Answer = answer.Text,
            Extracted = check.Extracted,
            Correct = check.Correct,
            CorrectBase = check.BaseCorrect,
            Detail = check.Detail,
            GateScore = answer.GateScore,
            Steered = answer.Steered,
            Tokens = answer.Tokens,
            Seconds = answer.Seconds,
        };
    }

    /// <summary>Code is scored with EvalPlus: every sample must be one of its tasks, with its entry point (checked
    /// before anything is written, so a sample it cannot score stops the run at its line, not midway).</summary>
    static void RequireEvalPlusTasks(Benchmark benchmark, IEnumerable<BenchmarkSample> plan)
    {
        foreach (var s in plan)
        {
            var problem = Code.EvalPlusData.Find(s.TaskId);
            string? why = problem is null ? $"task_id '{s.TaskId}' is not a HumanEval+ or MBPP+ task; code is scored with EvalPlus"
                : problem.EntryPoint != s.EntryPoint ? $"entry_point '{s.EntryPoint}' differs from EvalPlus's '{problem.EntryPoint}' for {s.TaskId}"
                : null;
            if (why is not null) throw new InputException(benchmark.SourcePath, s.Line > 0 ? s.Line : null, $"sample {s.Id}: {why}");
        }
    }

    /// <summary>The samples a run covers: the first <see cref="ExperimentRunOptions.Limit"/>, then those of its shard.</summary>
    public static List<BenchmarkSample> Plan(Benchmark benchmark, ExperimentRunOptions options) =>
        benchmark.Samples.Take(options.Limit ?? int.MaxValue)
            .Where(s => options.Shard is not { } shard || shard.Contains(s.Index)).ToList();

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

    internal static IAnswerChecker DefaultChecker(ExperimentConfig config)
    {
        bool lastBox = config.UnfinishedThoughts == UnfinishedThoughts.LastBox;
        return config.Task == BenchmarkTask.Math ? new MathAnswerChecker(lastBox) : new CodeAnswerChecker(new PythonSandbox(), lastBox);
    }

    static void CheckOrWriteIdentity(string folder, RunIdentity identity)
    {
        var existing = ResultsFolder.ReadIdentity(folder);
        if (existing is null)
        {
            if (File.Exists(Path.Combine(folder, ResultsFolder.OutputFile)))
                throw new InputException(folder, null, $"has {ResultsFolder.OutputFile} but no {ResultsFolder.IdentityFile}; refusing to mix results");
            ResultsFolder.WriteIdentity(folder, identity);
            return;
        }
        static bool Differ(string? recorded, string? now) => recorded is not null && now is not null && recorded != now;
        string? clash =
            existing.ConfigHash != identity.ConfigHash ? $"config hash {existing.ConfigHash[..12]}, this config {identity.ConfigHash[..12]}"
            : existing.Answers != identity.Answers
                ? $"answers {Origin(existing.Answers)}, this run {Origin(identity.Answers)}"
            : existing.Shard != identity.Shard ? $"shard {existing.Shard ?? "none"}, this run {identity.Shard ?? "none"}"
            : existing.Benchmark != identity.Benchmark || existing.BenchmarkCount != identity.BenchmarkCount
                ? $"benchmark {existing.Benchmark} ({existing.BenchmarkCount}), this run {identity.Benchmark} ({identity.BenchmarkCount})"
            : Differ(existing.BenchmarkHash, identity.BenchmarkHash)
                ? $"the benchmark's content changed: content hash {existing.BenchmarkHash![..12]}, now {identity.BenchmarkHash![..12]}"
            : Differ(existing.ModelId, identity.ModelId)
                ? $"the model changed: it was {existing.ModelId}, now {identity.ModelId} (same path, other weights?)"
            : null;
        if (clash is not null)
            throw new InputException(Path.Combine(folder, ResultsFolder.IdentityFile), null,
                $"holds results of a different run ({clash}); resuming would mix their answers; use another name or remove the folder");
        // A larger limit extends the run; a folder from before hashes were recorded gets them now.
        if (existing.Limit != identity.Limit || existing.BenchmarkHash is null || existing.ModelId is null)
            ResultsFolder.WriteIdentity(folder, identity with
            {
                BenchmarkHash = identity.BenchmarkHash ?? existing.BenchmarkHash,
                ModelId = identity.ModelId ?? existing.ModelId,
            });
    }

    static string Origin(string? answers) => answers is null ? "generated by the engine" : answers.Length > 20 ? answers[..20] + "..." : answers;

    /// <summary>Two runners on one folder would interleave lines; the second fails instead.</summary>
    static FileStream LockFolder(string folder)
    {
        var path = Path.Combine(folder, ".lock");
        try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose); }
        catch (IOException e) { throw new IOException($"{folder} is in use by another run ({e.Message})", e); }
    }
}
