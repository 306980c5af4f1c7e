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
    int Line = 0);

/// <summary>A loaded benchmark: its samples in file order.</summary>
internal sealed record Benchmark(string Name, BenchmarkTask Task, string SourcePath, IReadOnlyList<BenchmarkSample> Samples)
{
    public int Count => Samples.Count;
}

