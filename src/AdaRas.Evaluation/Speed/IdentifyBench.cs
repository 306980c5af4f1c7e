using System.Diagnostics;
using AdaRas.Engine;
using AdaRas.Evaluation.Speed;
using AdaRas.Steering.Kernels;
using AdaRas.Steering.Rcn;
using AdaRas.Workflows;

namespace AdaRas.Evaluation.Speed;

/// <summary>Teacher-forcing throughput of RCN identification versus plain scoring of the same tokens (medians).</summary>
/// <param name="IdentifyTokensPerSecond"><see cref="RcnIdentifier.Run(ReadOnlySpan{int}, CancellationToken, Action{int})"/>: no logits, sum tap read per chunk.</param>
/// <param name="ScoringTokensPerSecond"><see cref="Scoring.Score"/>: logits at every position and their log-softmax.</param>
internal sealed record IdentifyThroughput(string Model, int Tokens, int ChunkSize, int Repetitions,
    double IdentifyTokensPerSecond, double ScoringTokensPerSecond)
{
    /// <summary>Identification / scoring throughput (target >= 0.95).</summary>
    public double Ratio => IdentifyTokensPerSecond / ScoringTokensPerSecond;
}

/// <summary>
/// The RCN rows of <c>adaras bench</c>: how fast identification teacher-forces text compared with scoring it,
/// and how fast the kernels rank every neuron of a real model shape compared with LINQ.
/// </summary>
internal static class IdentifyBench
{
    /// <summary>
    /// Times identification and scoring on the same random token ids, alternating, after one warm-up of each.
    /// <paramref name="tokens"/> is capped at the model's context length (see <see cref="IdentifyThroughput.Tokens"/>).
    /// </summary>
    public static IdentifyThroughput MeasureThroughput(string modelFolder, int tokens = 512, int chunkSize = 512, int repetitions = 3)
    {
        if (tokens < 2) throw new ArgumentOutOfRangeException(nameof(tokens), tokens, "need at least two tokens (scoring needs a prefix)");
        if (repetitions < 1) throw new ArgumentOutOfRangeException(nameof(repetitions), repetitions, "must be at least 1");
        using var model = AdaRas.Engine.LanguageModel.Load(modelFolder);
        tokens = Math.Min(tokens, model.Manifest.ContextLength);
        var identifier = new RcnIdentifier(model, chunkSize);
        var random = new Random(4321);
        int vocab = Math.Min(model.Manifest.VocabSize, 500);
        var ids = Enumerable.Range(0, tokens).Select(_ => random.Next(vocab)).ToArray();

        identifier.Run(ids);
        Scoring.Score(model, ids);
        var identifyRates = new List<double>();
        var scoringRates = new List<double>();
        var clock = new Stopwatch();
        for (int r = 0; r < repetitions; r++)
        {
            clock.Restart();
            identifier.Run(ids);
            identifyRates.Add(tokens / clock.Elapsed.TotalSeconds);
            clock.Restart();
            Scoring.Score(model, ids);
            scoringRates.Add(tokens / clock.Elapsed.TotalSeconds);
        }
        return new IdentifyThroughput(model.Manifest.ModelId, tokens, chunkSize, repetitions, Medians.Of(identifyRates), Medians.Of(scoringRates));
    }

    /// <summary>Ranking all neurons of Qwen3-1.7B's shape (28 x 6144) on the CPU accelerator: kernels versus LINQ.</summary>
    public static RankingTimings MeasureRanking(int layers = 28, int intermediateSize = 6144, int repetitions = 5)
    {
        using var device = KernelDevice.CreateCpu();
        return RankingBench.Run(device, layers, intermediateSize, repetitions: repetitions);
    }

}
