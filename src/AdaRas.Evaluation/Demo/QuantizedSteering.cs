using System.Globalization;
using System.Text;
using AdaRas.Engine;
using AdaRas.Evaluation.Experiments;
using AdaRas.Evaluation.Reports;
using AdaRas.Export;
using AdaRas.Workflows;

namespace AdaRas.Evaluation.Demo;

/// <summary>
/// One precision's held-out accuracy: control, steered and adaptive with the steering chosen at fp32 (same pattern,
/// K, alpha and gate), and the gains over that precision's own control.
/// </summary>
internal sealed record PrecisionRow(string Precision, int Questions, int Control, int Steered, int Adaptive)
{
    public double ControlAccuracy => Percent(Control);
    public double SteeredAccuracy => Percent(Steered);
    public double AdaptiveAccuracy => Percent(Adaptive);
    public double SteeredGain => SteeredAccuracy - ControlAccuracy;
    public double AdaptiveGain => AdaptiveAccuracy - ControlAccuracy;
    double Percent(int correct) => Questions == 0 ? 0 : 100.0 * correct / Questions;

    public static PrecisionRow Of(string precision, RunResults control, RunResults steered, RunResults adaptive) =>
        new(precision, control.Records.Count, control.Records.Count(r => r.Correct), steered.Records.Count(r => r.Correct), adaptive.Records.Count(r => r.Correct));
}

/// <summary>
/// Does steering keep its effect when the weights are quantized? The demo's chosen steering (found on the fp32
/// export) applied unchanged to int8 and int4 exports of the same checkpoint, on the same held-out questions. The
/// check: each precision's steered-minus-control gain within <see cref="TolerancePoints"/> of fp32's.
/// </summary>
internal sealed record QuantizedSteering(IReadOnlyList<PrecisionRow> Rows)
{
    public const double TolerancePoints = 2;

    PrecisionRow Fp32 => Rows.Single(r => r.Precision == "fp32");

    /// <summary>Whether <paramref name="row"/>'s steered gain is within the tolerance of fp32's.</summary>
    public bool Keeps(PrecisionRow row) => Math.Abs(row.SteeredGain - Fp32.SteeredGain) <= TolerancePoints;

    /// <summary>
    /// Exports <paramref name="checkpoint"/> at each of <paramref name="precisions"/> (block-quantized, the
    /// exporter's defaults) and runs test-&lt;precision&gt;-control, -steered and -adaptive on
    /// <paramref name="questions"/> with the steering of the fp32 runs; <paramref name="fp32"/> is that precision's
    /// row, already measured.
    /// </summary>
    public static QuantizedSteering Run(string checkpoint, IReadOnlyList<string> precisions, PrecisionRow fp32, string questions, string runsRoot,
        string patternPath, DemoChoice chosen, string gatePath, int maxNewTokens, int batchSize, ModelOptions? modelOptions,
        Action<string> status, CancellationToken cancellation)
    {
        var rows = new List<PrecisionRow> { fp32 };
        foreach (var precision in precisions)
        {
            var export = new ExportOptions { Precision = Enum.Parse<ExportPrecision>(precision, ignoreCase: true) };
            using var model = ModelOpening.Open(checkpoint, modelOptions, export: export, cancellation: cancellation);
            if (!string.Equals(model.Manifest.Precision, precision, StringComparison.OrdinalIgnoreCase)) // an exported folder is opened as it is
                throw new ArgumentException($"{checkpoint}: the quantized stage needs a checkpoint to export at {precision}, but this opens a {model.Manifest.Precision} export");
            RunResults Run(string kind, string? pattern, string? gate)
            {
                status($"    {precision}: {kind}");
                return DemoPipeline.RunSteered(model, questions, runsRoot, $"test-{precision}-{kind}", pattern, chosen.Neurons, chosen.Alpha, gate,
                    maxNewTokens, batchSize, cancellation);
            }
            rows.Add(PrecisionRow.Of(precision, Run("control", null, null), Run("steered", patternPath, null), Run("adaptive", patternPath, gatePath)));
        }
        return new QuantizedSteering(rows);
    }

    /// <summary>The demo report's section: what was run, the table, and the checks.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("## Quantized exports: does the steering keep its effect?");
        md.AppendLine();
        md.AppendLine($"The same pattern, K, alpha and gate (all chosen at fp32) on {string.Join(" and ", Rows.Skip(1).Select(r => r.Precision))} exports of the " +
                      $"checkpoint (block {new ExportOptions().BlockSize}, symmetric, the exporter's default accuracy levels), on the same held-out questions; " +
                      "each gain is over that precision's own control.");
        md.AppendLine();
        md.AppendLine("| precision | control | steered | adaptive | steered - control | adaptive - control | steered gain vs fp32 |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var r in Rows)
            md.AppendLine(string.Create(c, $"| {r.Precision} | {r.ControlAccuracy:F2}% | {r.SteeredAccuracy:F2}% | {r.AdaptiveAccuracy:F2}% | " +
                                           $"{r.SteeredGain:+0.00;-0.00;0.00} | {r.AdaptiveGain:+0.00;-0.00;0.00} | {(r.Precision == "fp32" ? "-" : Keeps(r) ? "within" : "NOT within")} {(r.Precision == "fp32" ? "" : $"{TolerancePoints:G} points")} |"));
        md.AppendLine();
        foreach (var line in Lines()) md.AppendLine("- " + line);
        return md.ToString();
    }

    public IEnumerable<string> Lines()
    {
        var c = CultureInfo.InvariantCulture;
        foreach (var r in Rows.Where(r => r.Precision != "fp32"))
            yield return string.Create(c, $"{(Keeps(r) ? "PASS" : "FAIL")} {r.Precision}: steered gain {r.SteeredGain:+0.00;-0.00;0.00} points vs fp32's " +
                                          $"{Fp32.SteeredGain:+0.00;-0.00;0.00} (must be within {TolerancePoints:G}); control {r.ControlAccuracy:F2}% vs {Fp32.ControlAccuracy:F2}%, " +
                                          $"adaptive gain {r.AdaptiveGain:+0.00;-0.00;0.00}");
    }
}
