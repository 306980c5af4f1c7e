using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Evaluation.Reports;
using AdaRas.Model;
using AdaRas.Probing.Metrics;

namespace AdaRas.Cli.Commands;

/// <summary>Printing and writing what `gate train`, `gate evaluate` and `probe-l1` report (the JSON is <see cref="AdaRas.Workflows.ClassifierJson"/>'s).</summary>
static class ClassifierReports
{
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void WriteRoc(ClassifierEvaluation evaluation, string path, string title) =>
        Plots.Roc(evaluation.Roc.Select(p => p.FalsePositiveRate).ToArray(), evaluation.Roc.Select(p => p.TruePositiveRate).ToArray(),
            path, evaluation.Report.Auroc, evaluation.OperatingPoint, title);

    /// <summary>Prints the report to stdout and, when a path is given, writes it there (atomically).</summary>
    public static void Emit(CliConsole console, JsonObject report, string? path)
    {
        var text = report.ToJsonString(Indented);
        if (path is not null) AtomicFile.WriteAllText(path, text + "\n");
        console.Out.WriteLine(text);
    }

    public static void PrintSummary(CliConsole console, ClassifierReport r) =>
        console.Error.WriteLine($"{r.Classifier} on {r.Split}: AUROC {r.Auroc:F3}, accuracy {r.Accuracy:F3} at threshold {r.Threshold:F4} " +
            $"(tp {r.TruePositives}, fp {r.FalsePositives}, tn {r.TrueNegatives}, fn {r.FalseNegatives}; steers {100 * r.SteerRate:F0}%)");
}
