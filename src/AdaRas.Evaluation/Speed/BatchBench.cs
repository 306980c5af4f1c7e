using System.Diagnostics;
using AdaRas.Engine;

namespace AdaRas.Evaluation.Speed;

/// <summary>Aggregate decode throughput of one row against a batch of rows, measured side by side.</summary>
internal sealed record BatchThroughput(int Rows, int PromptTokens, int NewTokens, int Repetitions,
    double SingleTokensPerSecond, double BatchTokensPerSecond, bool PerRowSteering)
{
    /// <summary>Batch aggregate tokens/s over single-row tokens/s (the target is >= 4 at 8 rows on the 0.6B shape).</summary>
    public double Ratio => BatchTokensPerSecond / SingleTokensPerSecond;
}

/// <summary>
/// Batched decoding's speed: <c>rows</c> sequences through one <see cref="BatchGenerator"/> against one, on the
/// same loaded model, interleaved repetitions, medians. With per-row steering every other row is steered (a
/// shift on <c>steeredNeurons</c> neurons per layer) and the others are not, so the batch takes the per-row path
/// (the graph's steer_batch dimension) rather than one shared steering; the single row is steered too.
/// </summary>
internal static class BatchBench
{
    public static BatchThroughput Measure(LanguageModel model, int rows, int promptTokens, int newTokens, int repetitions,
        bool perRowSteering = true, int steeredNeurons = 50)
    {
        if (rows < 2 || promptTokens < 1 || newTokens < 2 || repetitions < 1)
            throw new ArgumentException("rows >= 2, prompt >= 1, new tokens >= 2 and repetitions >= 1 are required");
        using var steering = perRowSteering ? Shift(model, steeredNeurons) : null;
        var vocab = model.Manifest.VocabSize;
        var prompts = Enumerable.Range(0, rows)
            .Select(r => Enumerable.Range(0, promptTokens).Select(i => (i * 37 + r * 101 + 11) % Math.Min(vocab, 1000)).ToArray()).ToArray();
        int capacity = promptTokens + newTokens + 2;
        using var single = new BatchGenerator(model, 1, capacity);
        using var batch = new BatchGenerator(model, rows, capacity);
        var singleRates = new List<double>();
        var batchRates = new List<double>();
        Run(single, prompts, newTokens, steering); // warm-up
        Run(batch, prompts, newTokens, steering);
        for (int rep = 0; rep < repetitions; rep++)
        {
            singleRates.Add(Run(single, prompts, newTokens, steering));
            batchRates.Add(Run(batch, prompts, newTokens, steering));
        }
        return new BatchThroughput(rows, promptTokens, newTokens, repetitions, Median(singleRates), Median(batchRates), perRowSteering);
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
