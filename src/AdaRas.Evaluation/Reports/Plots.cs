using System.Globalization;
using ScottPlot;

namespace AdaRas.Evaluation.Reports;

/// <summary>One line of a sweep plot: accuracy at each steering strength for one K (number of neurons).</summary>
internal sealed record SweepSeries(string Label, IReadOnlyList<double> Alphas, IReadOnlyList<double> Accuracies);

/// <summary>
/// Every PNG the project draws (ScottPlot 5, rendered headless by SkiaSharp). Files are written through a
/// temporary path and renamed, so a reader never sees half a PNG.
/// </summary>
internal static class Plots
{
    public const int Width = 800;
    public const int Height = 500;

    static readonly Color[] Palette =
    [
        Color.FromHex("#4C72B0"), Color.FromHex("#DD8452"), Color.FromHex("#55A868"), Color.FromHex("#C44E52"),
        Color.FromHex("#8172B3"), Color.FromHex("#937860"), Color.FromHex("#DA8BC3"), Color.FromHex("#8C8C8C"),
    ];

    /// <summary>A labelled bar per run (e.g. accuracy of control / steered / adaptive), value printed on top.</summary>
    public static void Bars(IReadOnlyList<string> names, IReadOnlyList<double> values, string yLabel, string title, string path,
        string valueFormat = "F2")
    {
        if (names.Count != values.Count || names.Count == 0) throw new ArgumentException("need one value per name, at least one");
        var plot = new Plot();
        var bars = names.Select((n, i) => new Bar
        {
            Position = i,
            Value = values[i],
            FillColor = Palette[i % Palette.Length],
            Label = values[i].ToString(valueFormat, CultureInfo.InvariantCulture),
        }).ToList();
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 14;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, names.Count).Select(i => (double)i).ToArray(), names.ToArray());
        plot.Axes.Margins(bottom: 0, top: 0.15);
        // Bars start at 0; with every value 0 the automatic range would be [-1, 1].
        if (values.All(v => v >= 0)) plot.Axes.SetLimitsY(0, values.Max() > 0 ? values.Max() * 1.15 : 1);
        plot.Title(title);
        plot.YLabel(yLabel);
        Save(plot, path);
    }

    /// <summary>Accuracy against steering strength, one line per K.</summary>
    public static void Sweep(IReadOnlyList<SweepSeries> series, string path, string title = "Accuracy vs steering strength",
        string xLabel = "alpha", string yLabel = "Accuracy (%)")
    {
        if (series.Count == 0) throw new ArgumentException("no series", nameof(series));
        var plot = new Plot();
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            if (s.Alphas.Count != s.Accuracies.Count || s.Alphas.Count == 0)
                throw new ArgumentException($"series '{s.Label}': {s.Alphas.Count} alphas but {s.Accuracies.Count} accuracies");
            var order = Enumerable.Range(0, s.Alphas.Count).OrderBy(j => s.Alphas[j]).ToArray();
            var line = plot.Add.Scatter(order.Select(j => s.Alphas[j]).ToArray(), order.Select(j => s.Accuracies[j]).ToArray());
            line.LegendText = s.Label;
            line.Color = Palette[i % Palette.Length];
            line.LineWidth = 2;
            line.MarkerSize = 8;
        }
        plot.ShowLegend(Alignment.LowerRight);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        Save(plot, path);
    }

    /// <summary>
    /// A ROC curve from matching false/true positive rate arrays (as the gate's validation computes them),
    /// with the chance diagonal, the AUC in the legend and, if given, the chosen operating point.
    /// </summary>
    public static void Roc(IReadOnlyList<double> falsePositiveRates, IReadOnlyList<double> truePositiveRates, string path,
        double? auc = null, (double Fpr, double Tpr)? operatingPoint = null, string title = "ROC")
    {
        if (falsePositiveRates.Count != truePositiveRates.Count || falsePositiveRates.Count < 2)
            throw new ArgumentException($"need matching fpr/tpr arrays of at least 2 points ({falsePositiveRates.Count} vs {truePositiveRates.Count})");
        foreach (var v in falsePositiveRates.Concat(truePositiveRates))
            if (!(v >= 0 && v <= 1)) throw new ArgumentException($"rates must lie in [0, 1], found {v}");
        var plot = new Plot();
        var chance = plot.Add.Line(0, 0, 1, 1);
        chance.LinePattern = LinePattern.Dashed;
        chance.Color = Colors.Gray;
        chance.LegendText = "chance";
        var curve = plot.Add.Scatter(falsePositiveRates.ToArray(), truePositiveRates.ToArray());
        curve.Color = Palette[0];
        curve.LineWidth = 2;
        curve.MarkerSize = 0;
        curve.LegendText = auc is { } a ? string.Create(CultureInfo.InvariantCulture, $"AUC = {a:F3}") : "ROC";
        if (operatingPoint is { } p)
        {
            var marker = plot.Add.Marker(p.Fpr, p.Tpr);
            marker.Color = Palette[3];
            marker.MarkerSize = 12;
            marker.LegendText = string.Create(CultureInfo.InvariantCulture, $"threshold (fpr {p.Fpr:F2}, tpr {p.Tpr:F2})");
        }
        plot.Axes.SetLimits(-0.02, 1.02, -0.02, 1.02);
        plot.ShowLegend(Alignment.LowerRight);
        plot.Title(title);
        plot.XLabel("False positive rate");
        plot.YLabel("True positive rate");
        Save(plot, path);
    }

    static void Save(Plot plot, string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}.png";
        try
        {
            plot.SavePng(temp, Width, Height);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
