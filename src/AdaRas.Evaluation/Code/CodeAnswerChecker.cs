using AdaRas.Evaluation.Answers;
using AdaRas.Evaluation.Benchmarks;

namespace AdaRas.Evaluation.Code;

/// <summary>
/// pass@1: the single generated answer passes when the extracted program, followed by the benchmark's tests,
/// runs to the end in the <see cref="PythonSandbox"/>.
/// </summary>
internal sealed class CodeAnswerChecker(PythonSandbox sandbox, bool unfinishedThoughtCounts = false) : IAnswerChecker
{
    public PythonSandbox Sandbox { get; } = sandbox;

    public AnswerCheck Check(BenchmarkSample sample, string modelText, CancellationToken cancellationToken = default)
    {
        var test = sample.Test ?? throw new ArgumentException($"sample {sample.Id} has no tests", nameof(sample));
        var solution = CodeExtraction.ExtractSolution(modelText, sample.EntryPoint, unfinishedThoughtCounts);
        if (solution is null) return new AnswerCheck(null, false, "no code");
        var result = Sandbox.Run(BuildProgram(test, solution), cancellationToken);
        return new AnswerCheck(solution, result.Passed, result.Passed ? null : result.Summary);
    }

    /// <summary>
    /// <c>prelude + solution + assertions</c>. A body-only completion (indented, HumanEval's original format)
    /// is appended straight after the prompt so it becomes the stub's body.
    /// </summary>
    public static string BuildProgram(CodeTest test, string solution)
    {
        var firstCodeLine = solution.Split('\n').FirstOrDefault(l => l.Trim().Length > 0) ?? "";
        bool bodyOnly = test.Prelude.Length > 0 && firstCodeLine.Length > 0 && firstCodeLine[0] is ' ' or '\t';
        var joined = bodyOnly ? test.Prelude.TrimEnd('\n') + "\n" + solution : test.Prelude + "\n\n" + solution;
        return joined + "\n\n" + test.Assertions;
    }
}
