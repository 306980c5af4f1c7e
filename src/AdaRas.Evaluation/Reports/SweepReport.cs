using System.Globalization;
using System.Text;
using System.Text.Json;
using AdaRas.Evaluation.Experiments;
using AdaRas.Model;

namespace AdaRas.Evaluation.Reports;

/// <summary>One point of a sweep, with its run's totals.</summary>
internal sealed record SweepRow(int Neurons, double Alpha, string Name, int Planned, int Finished, int Correct, double Accuracy,
    double MeanTokens, double MeanSeconds, int? Steered)
{
    public static SweepRow From(SweepPoint point, ExperimentSummary summary) => new(point.Neurons, point.Alpha, point.Config.Name,
        summary.Planned, summary.Finished, summary.Correct, summary.Accuracy, summary.MeanTokens, summary.MeanSeconds, summary.Steered);
}

/// <summary>Accuracy over a grid of steering strengths (alpha) and neuron counts (K).</summary>
internal sealed record SweepReport(string Name, IReadOnlyList<SweepRow> Rows)
{
    public const string TableFile = "sweep.md";
    public const string PlotFile = "sweep.png";
    public const string DataFile = "sweep.json";

    /// <summary>The table as Markdown, ordered by K then alpha.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| K | alpha | accuracy | correct | finished | mean tokens | mean seconds | steered | run |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in Ordered())
            sb.AppendLine(string.Create(c,
                $"| {r.Neurons} | {r.Alpha:G} | {100 * r.Accuracy:F2}% | {r.Correct} | {r.Finished}/{r.Planned} | {r.MeanTokens:F1} | {r.MeanSeconds:F2} | {(r.Steered is { } s ? s.ToString(c) : "-")} | {r.Name} |"));
        return sb.ToString();
    }

    IEnumerable<SweepRow> Ordered() => Rows.OrderBy(r => r.Neurons).ThenBy(r => r.Alpha);

    /// <summary>Accuracy (%) against alpha, one line per K.</summary>
    public IReadOnlyList<SweepSeries> Series() => Rows.GroupBy(r => r.Neurons).OrderBy(g => g.Key)
        .Select(g => new SweepSeries($"K = {g.Key}", g.Select(r => r.Alpha).ToList(), g.Select(r => 100 * r.Accuracy).ToList()))
        .ToList();

    /// <summary>Writes <c>sweep.md</c>, <c>sweep.json</c> and <c>sweep.png</c> into <paramref name="folder"/>.</summary>
    public void Write(string folder)
    {
        if (Rows.Count == 0) throw new InvalidOperationException("an empty sweep has nothing to write");
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, TableFile), $"# Sweep: {Name}\n\n{ToMarkdown()}");
        AtomicFile.WriteAllText(Path.Combine(folder, DataFile), JsonSerializer.Serialize(this, ResultsFolder.FileJson) + "\n");
        Plots.Sweep(Series(), Path.Combine(folder, PlotFile), title: $"{Name}: accuracy vs steering strength");
    }
}
