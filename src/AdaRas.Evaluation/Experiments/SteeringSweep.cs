using System.Globalization;
using AdaRas.Evaluation.Reports;

namespace AdaRas.Evaluation.Experiments;

/// <summary>One point of a sweep: the base config steered with <see cref="Neurons"/> neurons at strength <see cref="Alpha"/>.</summary>
internal sealed record SweepPoint(int Neurons, double Alpha, ExperimentConfig Config);

/// <summary>
/// A grid of steering strengths (alpha) and neuron counts (K) over one config. Every point is an ordinary run
/// with its own results folder, <c>&lt;name&gt;-k&lt;K&gt;-a&lt;alpha&gt;</c>, so an interrupted sweep resumes
/// point by point and any point can be compared with <c>adaras report</c>.
/// </summary>
internal static class SteeringSweep
{
    public static IReadOnlyList<SweepPoint> Grid(ExperimentConfig baseConfig, IReadOnlyList<double> alphas, IReadOnlyList<int> neurons)
    {
        if (baseConfig.Intervention.PatternPath is null)
            throw new AdaRas.Files.UsageException($"{baseConfig.SourceFile ?? baseConfig.Name}: a sweep steers, so the config needs intervention.pattern_path");
        if (alphas.Count == 0 || neurons.Count == 0) throw new AdaRas.Files.UsageException("a sweep needs at least one alpha and one neuron count");
        if (alphas.Any(a => !double.IsFinite(a))) throw new AdaRas.Files.UsageException("every alpha must be a finite number");
        if (neurons.Any(k => k < 1)) throw new AdaRas.Files.UsageException("every neuron count must be at least 1");
        if (alphas.Distinct().Count() != alphas.Count) throw new AdaRas.Files.UsageException($"alphas repeat: {string.Join(",", alphas)}");
        if (neurons.Distinct().Count() != neurons.Count) throw new AdaRas.Files.UsageException($"neuron counts repeat: {string.Join(",", neurons)}");

        var points = new List<SweepPoint>();
        foreach (var k in neurons)
            foreach (var alpha in alphas)
            {
                var config = baseConfig with
                {
                    Name = PointName(baseConfig.Name, k, alpha),
                    Intervention = baseConfig.Intervention with { Enabled = true, NumNeurons = k, Strength = alpha },
                };
                points.Add(new SweepPoint(k, alpha, config));
            }
        return points;
    }

    public static string PointName(string baseName, int neurons, double alpha) =>
        string.Create(CultureInfo.InvariantCulture, $"{baseName}-k{neurons}-a{alpha:R}");

    /// <summary>Where the sweep's table and plot go: <c>&lt;results&gt;/&lt;name&gt;-sweep/</c>.</summary>
    public static string ReportFolder(ExperimentRunner runner, ExperimentConfig baseConfig) =>
        Path.Combine(runner.ResultsRoot, baseConfig.Name + "-sweep");

    /// <summary>
    /// Runs every point on one loaded model (finished points are only read back) with one steering policy: the
    /// pattern, gate and buffers are loaded once and retargeted to each point's K and alpha. Returns the table.
    /// </summary>
    /// <param name="onPoint">Called before each point runs (e.g. to print which one).</param>
    public static SweepReport Run(AdaRas.Engine.LanguageModel model, ExperimentConfig baseConfig, IReadOnlyList<SweepPoint> points,
        ExperimentRunner runner, ExperimentRunOptions? options = null, Action<SweepPoint>? onPoint = null, CancellationToken cancellationToken = default)
    {
        var rows = new List<SweepRow>();
        if (points.Count == 0) return new SweepReport(baseConfig.Name, rows);
        using var policy = EngineAnswerSource.CreatePolicy(model, points[0].Config);
        foreach (var point in points)
        {
            cancellationToken.ThrowIfCancellationRequested();
            onPoint?.Invoke(point);
            policy.Retarget(point.Neurons, (float)point.Alpha);
            using var source = new EngineAnswerSource(point.Config, policy);
            var summary = runner.Run(point.Config, source, options, cancellationToken);
            rows.Add(SweepRow.From(point, summary));
        }
        return new SweepReport(baseConfig.Name, rows);
    }
}
