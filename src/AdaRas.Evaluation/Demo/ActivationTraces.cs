using System.Globalization;
using AdaRas.Engine;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Rcn;
using ScottPlot;

namespace AdaRas.Evaluation.Demo;

/// <summary>One trajectory's top-RCN activation at each token: the mean over the neurons of sign(delta) * a.</summary>
internal sealed record ActivationTrace(string Id, string SampleId, bool IsGood, string Thinking, double[] Values);

/// <summary>
/// Why steering works, drawn: the top reasoning-critical neurons' activations token by token along correct and
/// incorrect trajectories of the contrastive set (teacher-forced in the probe's text format, as identification
/// saw them). Each neuron is signed by its delta, so "towards correct" is up for all of them.
/// </summary>
internal static class ActivationTraces
{
    public static IReadOnlyList<ActivationTrace> Compute(LanguageModel model, ContrastiveSet set, IReadOnlyList<PatternNeuron> neurons,
        int questions, CancellationToken cancellation = default)
    {
        int size = model.Manifest.IntermediateSize;
        var ids = neurons.Select(n => (long)n.Layer * size + n.Index).ToList();
        var traces = new List<ActivationTrace>();
        foreach (var group in set.Trajectories.GroupBy(t => t.Id).Take(questions))
            foreach (var t in new[] { group.FirstOrDefault(x => x.IsGood), group.FirstOrDefault(x => !x.IsGood) })
            {
                if (t is null) continue;
                cancellation.ThrowIfCancellationRequested();
                var tokens = model.Tokenizer.Encode(t.Text);
                // One teacher-forced pass; the feature tap gives every position's activations at the neurons.
                using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = 0, MaxLength = tokens.Length });
                generator.SetFeatureIndices(ids);
                generator.AppendTokens(tokens, LogitsScope.None);
                var column = generator.FeatureIds.Select((id, c) => (id, c)).ToDictionary(x => x.id, x => x.c);
                int width = column.Count;
                var features = generator.Features;
                var values = new double[tokens.Length];
                for (int p = 0; p < tokens.Length; p++)
                {
                    double sum = 0;
                    for (int k = 0; k < neurons.Count; k++) sum += Math.Sign(neurons[k].Delta) * (double)features[p * width + column[ids[k]]];
                    values[p] = sum / neurons.Count;
                }
                traces.Add(new ActivationTrace(t.Id, t.SampleId, t.IsGood, t.Thinking, values));
            }
        return traces;
    }

    /// <summary>Correct trajectories in green, incorrect in red, x = token position.</summary>
    public static void Plot(IReadOnlyList<ActivationTrace> traces, int neurons, string path)
    {
        if (traces.Count == 0) throw new ArgumentException("no trajectories to draw", nameof(traces));
        var plot = new Plot();
        bool goodLabelled = false, badLabelled = false;
        foreach (var t in traces.OrderBy(t => t.IsGood)) // correct ones last, on top where they share a prefix
        {
            var line = plot.Add.Scatter(Enumerable.Range(0, t.Values.Length).Select(i => (double)i).ToArray(), t.Values);
            line.Color = t.IsGood ? Color.FromHex("#55A868") : Color.FromHex("#C44E52");
            line.LineWidth = 2;
            line.MarkerSize = 0;
            if (t.IsGood && !goodLabelled) { line.LegendText = "correct trajectories"; goodLabelled = true; }
            if (!t.IsGood && !badLabelled) { line.LegendText = "incorrect trajectories"; badLabelled = true; }
        }
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"Top {neurons} RCNs along sampled trajectories (mean of sign(delta) * activation)"));
        plot.XLabel("token (question, then the model's thinking)");
        plot.YLabel("activation, signed by delta");
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}.png";
        try
        {
            plot.SavePng(temp, 900, 500);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
