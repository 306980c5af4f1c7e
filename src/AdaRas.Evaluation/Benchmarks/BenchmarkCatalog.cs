namespace AdaRas.Evaluation.Benchmarks;

/// <summary>
/// The benchmarks and splits shipped in <c>Data/</c> (copied next to every build output; also found from
/// the repository root, or from <c>ADARAS_DATA</c>). <see cref="Open"/> takes a catalog name or a file path.
/// </summary>
internal static class BenchmarkCatalog
{
    public sealed record Entry(string Name, string RelativePath, BenchmarkTask Task, string Description, bool DuplicateIds = false);

    /// <summary>Test sets first, then the gate's train/validation splits.</summary>
    public static IReadOnlyList<Entry> Entries { get; } =
    [
        new("aime24", "benchmarks/AIME/AIME_test_24.jsonl", BenchmarkTask.Math, "AIME 2024 (paper's 23-problem split)"),
        new("aime25", "benchmarks/AIME/AIME_test_25.jsonl", BenchmarkTask.Math, "AIME 2025 (paper's 22-problem split)"),
        new("aime", "benchmarks/AIME/AIME_test.jsonl", BenchmarkTask.Math, "AIME test set (150, several years)"),
        new("amc", "benchmarks/AMC/AMC_test.jsonl", BenchmarkTask.Math, "AMC 12 2022-2023 (91)"),
        new("math500", "benchmarks/Math/Math500_test.jsonl", BenchmarkTask.Math, "MATH500"),
        new("gsm8k", "benchmarks/gsm8k/gsm8k_test.jsonl", BenchmarkTask.Math, "GSM8K test (1319)"),
        new("humaneval", "benchmarks/HumanEval/HumanEval_split_test.jsonl", BenchmarkTask.Code, "HumanEval (paper's 149-problem split)"),
        new("mbpp", "benchmarks/Mbpp/Mbpp_test.jsonl", BenchmarkTask.Code, "MBPP test (378; tests = the assert in each question)"),
        new("aime-train", "splits/AIME_train.jsonl", BenchmarkTask.Math, "gate training split", DuplicateIds: true),
        new("aime-validation", "splits/AIME_validation.jsonl", BenchmarkTask.Math, "gate validation split", DuplicateIds: true),
        new("amc-train", "splits/AMC_train.jsonl", BenchmarkTask.Math, "AMC 2022 training split (no is_good labels)"),
        new("math-train", "splits/Math_train.jsonl", BenchmarkTask.Math, "gate training split"),
        new("math-validation", "splits/Math_validation.jsonl", BenchmarkTask.Math, "gate validation split"),
        new("gsm8k-train", "splits/gsm8k_train.jsonl", BenchmarkTask.Math, "gate training split"),
        new("gsm8k-validation", "splits/gsm8k_validation.jsonl", BenchmarkTask.Math, "gate validation split"),
        new("humaneval-train", "splits/HumanEval_split_train.jsonl", BenchmarkTask.Code, "gate training split"),
        new("mbpp-train", "splits/Mbpp_train.jsonl", BenchmarkTask.Code, "gate training split (overlaps the MBPP test set)"),
        new("mbpp-validation", "splits/Mbpp_validation.jsonl", BenchmarkTask.Code, "gate validation split (overlaps the MBPP test set)"),
    ];

    /// <summary>The contrastive trajectory sets (Qwen3-32B, 15 questions x 4 correct + 4 incorrect) by name.</summary>
    public static IReadOnlyDictionary<string, string> ContrastiveSets { get; } = new Dictionary<string, string>
    {
        ["gsm8k"] = "contrastive/gsm8k_results_Qwen3-32B_filtered.jsonl",
        ["humaneval"] = "contrastive/HumanEval_results_Qwen3-32B_filtered.jsonl",
        ["mbpp"] = "contrastive/Mbpp_results_Qwen3-32B_filtered.jsonl",
    };

    static readonly Lazy<string> Root = new(FindDataDirectory);

    /// <summary>The folder holding <c>benchmarks/</c>, <c>splits/</c> and <c>contrastive/</c>.</summary>
    public static string DataDirectory => Root.Value;

    public static Entry Find(string name) =>
        Entries.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new InputException($"unknown benchmark '{name}': no such file, and not a benchmark name (known: {string.Join(", ", Entries.Select(e => e.Name))})");

    public static string PathOf(string name) => Path.Combine(DataDirectory, Find(name).RelativePath);

    public static string ContrastivePath(string name) =>
        ContrastiveSets.TryGetValue(name.ToLowerInvariant(), out var rel) ? Path.Combine(DataDirectory, rel)
        : throw new InputException($"unknown contrastive set '{name}' (known: {string.Join(", ", ContrastiveSets.Keys)})");

    public static Benchmark Load(string name)
    {
        var entry = Find(name);
        return BenchmarkFile.Load(Path.Combine(DataDirectory, entry.RelativePath), entry.Task, entry.Name, entry.DuplicateIds);
    }

    /// <summary>A catalog name, or a JSONL path loaded as <paramref name="task"/>.</summary>
    public static Benchmark Open(string nameOrPath, BenchmarkTask task)
    {
        if (File.Exists(nameOrPath)) return BenchmarkFile.Load(nameOrPath, task);
        var entry = Find(nameOrPath);
        if (entry.Task != task)
            throw new InputException($"benchmark '{entry.Name}' is a {entry.Task.ToString().ToLowerInvariant()} benchmark, not {task.ToString().ToLowerInvariant()}");
        return Load(entry.Name);
    }

    static string FindDataDirectory()
    {
        static bool IsData(string dir) => Directory.Exists(Path.Combine(dir, "benchmarks"));
        var fromEnv = Environment.GetEnvironmentVariable("ADARAS_DATA");
        if (!string.IsNullOrEmpty(fromEnv))
            return IsData(fromEnv) ? Path.GetFullPath(fromEnv) : throw new DirectoryNotFoundException($"ADARAS_DATA={fromEnv} has no benchmarks/ folder");
        var beside = Path.Combine(AppContext.BaseDirectory, "data");
        if (IsData(beside)) return beside;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var inRepo = Path.Combine(dir.FullName, "data");
            if (IsData(inRepo)) return inRepo;
        }
        throw new DirectoryNotFoundException(
            $"benchmark data not found beside {AppContext.BaseDirectory} nor under data/ of any folder above {Directory.GetCurrentDirectory()}");
    }
}
