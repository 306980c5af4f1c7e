using AdaRas.Model;
namespace AdaRas.Steering.Patterns;

/// <summary>
/// The seven RCN lists released with the paper (arXiv 2601.19847), shipped in the repository's <c>data/rcn/</c> and copied to <c>data/rcn/</c> beside the
/// assembly: 200 neurons each, identified on the benchmark named in the file for the model named in it.
/// </summary>
internal static class PaperPatterns
{
    public sealed record Entry(string FileName, string Benchmark, string ModelName, ModelShape Shape)
    {
        public string Path => System.IO.Path.Combine(Folder, FileName);
        public RcnPattern Load() => RcnPattern.Load(Path, Shape);
    }

    public static string Folder => Path.Combine(AppContext.BaseDirectory, "data", "rcn");

    public static IReadOnlyList<Entry> All { get; } =
    [
        new("AIME_Qwen3-1.7B.csv", "AIME", "Qwen3-1.7B", ModelShape.Qwen3_1_7B),
        new("AIME_Qwen3-4B.csv", "AIME", "Qwen3-4B", ModelShape.Qwen3_4B),
        new("AMC_Qwen3-1.7B.csv", "AMC", "Qwen3-1.7B", ModelShape.Qwen3_1_7B),
        new("HumanEval_Qwen3-1.7B.csv", "HumanEval", "Qwen3-1.7B", ModelShape.Qwen3_1_7B),
        new("Math_Qwen3-1.7B.csv", "MATH500", "Qwen3-1.7B", ModelShape.Qwen3_1_7B),
        new("Mbpp_Qwen3-1.7B.csv", "MBPP", "Qwen3-1.7B", ModelShape.Qwen3_1_7B),
        new("gsm8k_Qwen3-1.7B.csv", "GSM8K", "Qwen3-1.7B", ModelShape.Qwen3_1_7B),
    ];

    /// <summary>The entry for a file name (case-insensitive, with or without <c>.csv</c>).</summary>
    public static Entry Find(string name)
    {
        var file = name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? name : name + ".csv";
        return All.FirstOrDefault(e => string.Equals(e.FileName, file, StringComparison.OrdinalIgnoreCase))
            ?? throw new AdaRas.Files.UsageException($"no released pattern named '{name}'; known: {string.Join(", ", All.Select(e => e.FileName))}");
    }
}
