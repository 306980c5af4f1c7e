using System.Globalization;
using System.Text;
using AdaRas.Evaluation.Experiments;

namespace AdaRas.Evaluation.Reports;

/// <summary>A finished results folder, read back.</summary>
internal sealed record RunResults(string Name, string Folder, ExperimentSummary Summary, IReadOnlyList<ResultRecord> Records)
{
    /// <summary>Reads <c>summary.json</c> and <c>output.jsonl</c>; <paramref name="name"/> defaults to the run's name.</summary>
    public static RunResults Load(string folder, string? name = null)
    {
        if (!File.Exists(Path.Combine(folder, ResultsFolder.SummaryFile)))
        {
            if (Directory.Exists(folder) && Directory.GetDirectories(folder, "shard-*-of-*").Length > 0)
                throw new AdaRas.Files.InputException(folder, null, $"holds shards but no {ResultsFolder.SummaryFile}; merge them first (adaras eval merge {folder})");
            throw new FileNotFoundException($"{folder}: no {ResultsFolder.SummaryFile}; not a results folder");
        }
        var summary = ResultsFolder.ReadSummary(folder);
        return new RunResults(name ?? summary.Name, Path.GetFullPath(folder), summary, ResultsFolder.ReadRecords(folder));
    }
}

/// <summary>One run's totals in a comparison.</summary>
/// <param name="Correct">Correct answers; for code, EvalPlus's base+plus (the paper's number).</param>
/// <param name="Unfinished">Outputs whose thought never closed (they ran out of tokens).</param>
/// <param name="CorrectBase">Code only: answers passing EvalPlus's base tests alone; null for math.</param>
internal sealed record RunRow(string Name, int Samples, int Correct, double Accuracy, double MeanTokens, double MeanSeconds, int? Steered, int Unfinished = 0,
    int? CorrectBase = null);

/// <summary>
/// A run against the baseline (the first run), on the samples both finished: how many answers flipped each
/// way and the exact McNemar p-value of that difference.
/// </summary>
internal sealed record PairedFlips(string Name, string Baseline, int Paired, int WrongToRight, int RightToWrong, double PValue)
{
    public int NetGain => WrongToRight - RightToWrong;
}

/// <summary>Runs side by side (e.g. control, steered, adaptive): totals, and flips against the first.</summary>
internal sealed record ComparisonReport(IReadOnlyList<RunRow> Rows, IReadOnlyList<PairedFlips> Flips)
{
    public static ComparisonReport Compare(IReadOnlyList<RunResults> runs)
    {
        if (runs.Count == 0) throw new AdaRas.Files.UsageException("nothing to compare");
        var names = runs.Select(r => r.Name).ToList();
        if (names.Distinct().Count() != names.Count) throw new AdaRas.Files.UsageException($"run names must differ: {string.Join(", ", names)}");
        RequireSameBenchmark(runs);

        var rows = runs.Select(r => new RunRow(r.Name, r.Records.Count, r.Records.Count(x => x.Correct),
            r.Records.Count == 0 ? 0 : (double)r.Records.Count(x => x.Correct) / r.Records.Count,
            r.Records.Count == 0 ? 0 : r.Records.Average(x => (double)x.Tokens),
            r.Records.Count == 0 ? 0 : r.Records.Average(x => x.Seconds),
            r.Records.Any(x => x.Steered is not null) ? r.Records.Count(x => x.Steered == true) : null,
            r.Records.Count(x => Answers.ModelOutput.IsUnfinished(x.Answer)),
            r.Records.Any(x => x.CorrectBase is not null) ? r.Records.Count(x => x.CorrectBase == true) : null)).ToList();

        var baseline = runs[0];
        var baseCorrect = baseline.Records.ToDictionary(r => r.Id, r => r.Correct, StringComparer.Ordinal);
        var flips = new List<PairedFlips>();
        foreach (var run in runs.Skip(1))
        {
            int paired = 0, up = 0, down = 0;
            foreach (var r in run.Records)
            {
                if (!baseCorrect.TryGetValue(r.Id, out var before)) continue;
                paired++;
                if (!before && r.Correct) up++;
                else if (before && !r.Correct) down++;
            }
            flips.Add(new PairedFlips(run.Name, baseline.Name, paired, up, down, McNemar.ExactPValue(up, down)));
        }
        return new ComparisonReport(rows, flips);
    }

    /// <summary>
    /// Paired flips only mean something on the same questions: runs of different benchmarks (by name, or by content
    /// hash where run.json records it) would pair nothing, or pair unrelated questions that share ids.
    /// </summary>
    static void RequireSameBenchmark(IReadOnlyList<RunResults> runs)
    {
        var baseline = runs[0];
        var baseHash = Hash(baseline);
        foreach (var run in runs.Skip(1))
        {
            string? why = run.Summary.Benchmark != baseline.Summary.Benchmark
                ? $"it ran benchmark '{run.Summary.Benchmark}', the baseline {baseline.Folder} ran '{baseline.Summary.Benchmark}'"
                : Hash(run) is { } h && baseHash is not null && h != baseHash
                    ? $"its benchmark '{run.Summary.Benchmark}' has other content (hash {h[..12]}) than the baseline's (hash {baseHash[..12]})"
                : null;
            if (why is not null)
                throw new AdaRas.Files.InputException(run.Folder, null, $"cannot be compared with the baseline: {why}; paired flips need the same questions");
        }

        static string? Hash(RunResults r) =>
            File.Exists(Path.Combine(r.Folder, ResultsFolder.IdentityFile)) ? ResultsFolder.ReadIdentity(r.Folder)?.BenchmarkHash : null;
    }

    /// <summary>The table and the flips as Markdown.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        // Code runs: EvalPlus's two numbers, base and base+plus (the paper's), in their own columns.
        bool code = Rows.Any(r => r.CorrectBase is not null);
        sb.AppendLine(code
            ? "| run | samples | correct (base+plus) | accuracy (base+plus) | correct (base) | accuracy (base) | mean tokens | mean seconds | steered | unfinished |"
            : "| run | samples | correct | accuracy | mean tokens | mean seconds | steered | unfinished |");
        sb.AppendLine(code ? "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" : "|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in Rows)
        {
            var baseColumns = !code ? ""
                : r.CorrectBase is { } b ? string.Create(c, $" {b} | {(r.Samples == 0 ? 0 : 100.0 * b / r.Samples):F2}% |") : " - | - |";
            sb.AppendLine(string.Create(c, $"| {r.Name} | {r.Samples} | {r.Correct} | {100 * r.Accuracy:F2}% |{baseColumns} {r.MeanTokens:F1} | {r.MeanSeconds:F2} | {(r.Steered is { } s ? s.ToString(c) : "-")} | {r.Unfinished} |"));
        }
        if (Flips.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine($"Paired against **{Flips[0].Baseline}** (same sample ids):");
            sb.AppendLine();
            sb.AppendLine("| run | paired | wrong->right | right->wrong | net | McNemar exact p |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var f in Flips)
                sb.AppendLine(string.Create(c, $"| {f.Name} | {f.Paired} | {f.WrongToRight} | {f.RightToWrong} | {f.NetGain:+0;-0;0} | {f.PValue:G4} |"));
        }
        return sb.ToString();
    }

    /// <summary>Writes <c>report.md</c>, <c>accuracy.png</c> and <c>tokens.png</c> into <paramref name="folder"/>.</summary>
    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        AdaRas.Files.AtomicFile.WriteAllText(Path.Combine(folder, "report.md"), "# Comparison\n\n" + ToMarkdown());
        var names = Rows.Select(r => r.Name).ToList();
        Plots.Bars(names, Rows.Select(r => 100 * r.Accuracy).ToList(), "Accuracy (%)", "Accuracy", Path.Combine(folder, "accuracy.png"), "F1");
        Plots.Bars(names, Rows.Select(r => r.MeanTokens).ToList(), "Mean generated tokens", "Response length", Path.Combine(folder, "tokens.png"), "F0");
    }
}
