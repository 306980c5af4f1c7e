namespace AdaRas.Evaluation.Benchmarks;

/// <summary>What a benchmark asks the model to produce: a math answer or a program.</summary>
internal enum BenchmarkTask { Math, Code }

/// <summary>
/// One benchmark question. <see cref="Index"/> is its position in the file (0-based) and orders results;
/// <see cref="Id"/> is the file's own id (numbers keep their JSON spelling).
/// </summary>
internal sealed record BenchmarkSample(
    int Index,
    string Id,
    string Question,
    string? Answer,
    bool? IsGood,
    string? TaskId = null,
    string? EntryPoint = null,
    CodeTest? Test = null,
    int Line = 0);

/// <summary>
/// How a code answer is tested: the program run is <c>Prelude + solution + Assertions</c>.
/// HumanEval: the prelude is the problem prompt (its imports and helper functions; the solution redefines the
/// stub), the assertions are the benchmark's <c>check</c> function called on the entry point.
/// MBPP: no prelude; the assertions are the <c>assert</c> lines of the question text.
/// </summary>
internal sealed record CodeTest(string Prelude, string Assertions);

/// <summary>A loaded benchmark: its samples in file order.</summary>
internal sealed record Benchmark(string Name, BenchmarkTask Task, string SourcePath, IReadOnlyList<BenchmarkSample> Samples)
{
    public int Count => Samples.Count;
}

