using AdaRas.Evaluation.Answers;
using AdaRas.Evaluation.Benchmarks;

namespace AdaRas.Evaluation.Code;

/// <summary>EvalPlus's two verdicts on one answer: the base tests, and base plus the extended inputs.</summary>
internal sealed record CodeVerdict(bool Base, bool BasePlus, int BaseFailed, int PlusFailed, string? Sanitized, string? Reason);

/// <summary>
/// pass@1 as EvalPlus scores it (the paper's code metric). In the sandbox, the model's final content (fenced
/// blocks dedented) goes through EvalPlus's <c>sanitize</c>, done with Python's <c>ast</c>: the longest run of
/// lines that parses, reduced to imports and the definitions the entry point reaches, so demo code, example
/// asserts and <c>input()</c> calls are dropped. The code is executed (not as <c>__main__</c>) and the entry
/// point called on every base and plus input; the results go out as data and a trusted comparer outside the
/// sandboxed code never sees. <see cref="AnswerCheck.Correct"/> is base+plus (what the paper reports),
/// <see cref="AnswerCheck.BaseCorrect"/> the base tests alone (EvalPlus reports both).
/// </summary>
internal sealed class CodeAnswerChecker(PythonSandbox sandbox, bool unfinishedThoughtCounts = false) : IAnswerChecker, IDisposable
{
    /// <summary>EvalPlus's DEFAULT_MIN_TIME_LIMIT and DEFAULT_GT_TIME_LIMIT_FACTOR; 60 s per part at most.</summary>
    const double MinTimeLimit = 4.0, TimeLimitFactor = 4.0, PartBudgetSeconds = 60;

    readonly OutputComparer _comparer = new(sandbox.PythonPath);

    public PythonSandbox Sandbox { get; } = sandbox;

    public AnswerCheck Check(BenchmarkSample sample, string modelText, CancellationToken cancellationToken = default)
    {
        var verdict = CheckCode(sample, modelText, cancellationToken);
        var detail = verdict.BasePlus ? null
            : verdict.Reason ?? $"base {(verdict.Base ? "pass" : $"fail ({verdict.BaseFailed} inputs)")}, plus fail ({verdict.PlusFailed} inputs)";
        return new AnswerCheck(verdict.Sanitized, verdict.BasePlus, detail, verdict.Base);
    }

    public CodeVerdict CheckCode(BenchmarkSample sample, string modelText, CancellationToken cancellationToken = default)
    {
        var problem = EvalPlusData.Find(sample.TaskId)
            ?? throw new ArgumentException($"sample {sample.Id}: code is scored with EvalPlus, which has no task '{sample.TaskId}'", nameof(sample));
        var content = ModelOutput.FinalContent(modelText, unfinishedThoughtCounts);
        if (string.IsNullOrWhiteSpace(content))
            return new CodeVerdict(false, false, problem.BaseCount, problem.PlusCount, null, modelText.Length > 0 ? "unfinished thinking" : "no code");
        return CheckSolution(problem, CodeExtraction.DedentFencedBlocks(content), sanitize: true, cancellationToken);
    }

    /// <summary>Scores <paramref name="text"/> (sanitized first when <paramref name="sanitize"/>) on a problem.</summary>
    public CodeVerdict CheckSolution(EvalPlusProblem problem, string text, bool sanitize, CancellationToken cancellationToken = default)
    {
        var expected = ReferenceOutputs.Get(problem, Sandbox, cancellationToken);
        double[] Limits(double[] seconds) => seconds.Select(t => Math.Max(MinTimeLimit, TimeLimitFactor * t)).ToArray();
        var baseLimits = Limits(expected.BaseSeconds);
        var plusLimits = Limits(expected.PlusSeconds);
        var timeout = TimeSpan.FromSeconds(Math.Min(PartBudgetSeconds, baseLimits.Sum()) + Math.Min(PartBudgetSeconds, plusLimits.Sum()) + 10);
        var job = new Dictionary<string, object?>
        {
            ["mode"] = "function",
            ["source"] = text,
            ["sanitize"] = sanitize,
            ["task_id"] = problem.TaskId,
            ["entry_point"] = problem.EntryPoint,
            ["base_inputs"] = "base.json",
            ["plus_inputs"] = "plus.json",
            ["base_time_limits"] = baseLimits,
            ["plus_time_limits"] = plusLimits,
            ["output_not_none"] = problem.OutputNotNone,
        };
        int maxStdout = (int)Math.Min(int.MaxValue, 2 * expected.Bytes + (16L << 20));
        var run = Sandbox.Execute(job, [("base.json", problem.BaseInputsJson), ("plus.json", problem.PlusInputsJson)], timeout, maxStdout, cancellationToken);
        var outputs = RunOutputs.Parse(run.Stdout, problem.TaskId)[problem.TaskId];
        var sanitized = sanitize ? outputs.Sanitized : text;
        if (run.StdoutTruncated)
            return new CodeVerdict(false, false, problem.BaseCount, problem.PlusCount, sanitized, "results too large");
        if (outputs.LoadError is { } loadError)
            return new CodeVerdict(false, false, problem.BaseCount, problem.PlusCount, sanitized, loadError);

        int Failed(string part, string[] exp, string inputsJson)
        {
            var results = outputs.Parts.GetValueOrDefault(part) ?? new();
            var outs = Enumerable.Range(0, exp.Length).Select(i => results.TryGetValue(i, out var r) ? r.Out : null).ToArray();
            if (outs.All(o => o is null)) return exp.Length;
            return _comparer.Compare(problem, inputsJson, exp, outs).Count(ok => !ok);
        }
        int baseFailed = Failed("base", expected.Base, problem.BaseInputsJson);
        int plusFailed = Failed("plus", expected.Plus, problem.PlusInputsJson);
        string? reason = run.TimedOut ? "timeout"
            : outputs.Parts.Count == 0 && !outputs.Done ? SandboxResult.LastErrorLine(run.Stderr) ?? $"exit code {run.ExitCode}"
            : null;
        return new CodeVerdict(baseFailed == 0, baseFailed == 0 && plusFailed == 0, baseFailed, plusFailed, sanitized, reason);
    }

    public void Dispose() => _comparer.Dispose();
}
