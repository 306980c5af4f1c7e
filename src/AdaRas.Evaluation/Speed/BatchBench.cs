using System.Diagnostics;
using AdaRas.Engine;

namespace AdaRas.Evaluation.Speed;

/// <summary>Aggregate decode throughput of one row and of batches of rows, measured side by side.</summary>
/// <param name="Rows">Batch sizes, the first being 1.</param>
/// <param name="TokensPerSecond">Median aggregate decode tokens/s of each batch size.</param>
internal sealed record BatchThroughput(IReadOnlyList<int> Rows, IReadOnlyList<double> TokensPerSecond, int PromptTokens, int NewTokens, int Repetitions,
    bool PerRowSteering)
{
    public double SingleTokensPerSecond => TokensPerSecond[0];
    /// <summary>The largest batch's aggregate tokens/s.</summary>
    public double BatchTokensPerSecond => TokensPerSecond[^1];
    /// <summary>Largest batch over one row (the target is >= 4 at 8 rows on the 0.6B shape).</summary>
    public double Ratio => BatchTokensPerSecond / SingleTokensPerSecond;
    /// <summary>Batch <paramref name="rows"/> over one row.</summary>
    public double RatioAt(int rows) => TokensPerSecond[Rows.ToList().IndexOf(rows)] / SingleTokensPerSecond;
}

/// <summary>
/// Batched decoding's speed: batches of sequences through one <see cref="BatchGenerator"/> each against one
/// sequence, on the same loaded model, interleaved repetitions, medians. With per-row steering every other row is steered (a
/// shift on <c>steeredNeurons</c> neurons per layer) and the others are not, so the batch takes the per-row path
/// (the graph's steer_batch dimension) rather than one shared steering; the single row is steered too.
/// </summary>
internal static class BatchBench
{
    public static BatchThroughput Measure(LanguageModel model, int rows, int promptTokens, int newTokens, int repetitions,
        bool perRowSteering = true, int steeredNeurons = 50) =>
        Measure(model, [rows], promptTokens, newTokens, repetitions, perRowSteering, steeredNeurons);

    /// <summary>One row against each of <paramref name="batchSizes"/> (each >= 2), every size once per repetition.</summary>
    public static BatchThroughput Measure(LanguageModel model, IReadOnlyList<int> batchSizes, int promptTokens, int newTokens, int repetitions,
        bool perRowSteering = true, int steeredNeurons = 50)
    {
        if (batchSizes.Count == 0 || batchSizes.Any(b => b < 2) || promptTokens < 1 || newTokens < 2 || repetitions < 1)
            throw new ArgumentException("batch sizes >= 2, prompt >= 1, new tokens >= 2 and repetitions >= 1 are required");
        using var steering = perRowSteering ? Shift(model, steeredNeurons) : null;
        var vocab = model.Manifest.VocabSize;
        int[] sizes = [1, .. batchSizes];
        var prompts = Enumerable.Range(0, sizes.Max())
            .Select(r => Enumerable.Range(0, promptTokens).Select(i => (i * 37 + r * 101 + 11) % Math.Min(vocab, 1000)).ToArray()).ToArray();
        int capacity = promptTokens + newTokens + 2;
        var generators = sizes.Select(b => new BatchGenerator(model, b, capacity) { ActivationTaps = false }).ToArray();
        try
        {
            var rates = sizes.Select(_ => new List<double>()).ToArray();
            foreach (var g in generators) Run(g, prompts, newTokens, steering); // warm-up
            for (int rep = 0; rep < repetitions; rep++)
                for (int i = 0; i < sizes.Length; i++)
                    rates[i].Add(Run(generators[i], prompts, newTokens, steering));
            return new BatchThroughput(sizes, rates.Select(Median).ToArray(), promptTokens, newTokens, repetitions, perRowSteering);
        }
        finally
        {
            foreach (var g in generators) g.Dispose();
        }
    }

    /// <summary>Prefills every row (untimed), then times <paramref name="newTokens"/> steps: aggregate decode tokens/s.</summary>
    static double Run(BatchGenerator generator, int[][] prompts, int newTokens, SteeringTensors? steering)
    {
        var parameters = new GeneratorParams { MaxNewTokens = newTokens + 1, StopTokenIds = [] };
        for (int r = 0; r < generator.Rows; r++)
        {
            generator.Start(r, parameters);
            if (r % 2 == 0) generator[r].Steering = steering;
            generator.AppendTokens(r, prompts[r]);
        }
        generator.Step(); // samples from the prefill logits and runs the first decode step
        var clock = Stopwatch.StartNew();
        for (int s = 1; s < newTokens; s++) generator.Step();
        return (double)generator.Rows * (newTokens - 1) / clock.Elapsed.TotalSeconds;
    }

    static SteeringTensors Shift(LanguageModel model, int neurons)
    {
        var steering = SteeringTensors.Create(model.Manifest);
        var random = new Random(1);
        for (int l = 0; l < steering.Layers; l++)
        {
            var shift = steering.Shift(l);
            for (int i = 0; i < Math.Min(neurons, shift.Length); i++) shift[random.Next(shift.Length)] = 0.05f;
        }
        return steering;
    }

    static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
