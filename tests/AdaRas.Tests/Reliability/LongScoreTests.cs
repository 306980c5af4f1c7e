using AdaRas.Engine;
using AdaRas.Export;

namespace AdaRas.Tests.Reliability;

/// <summary>
/// Scoring a 32k-token reasoning trace needs logits at every position: position * vocab passes int.MaxValue after
/// ~14k tokens at Qwen3's vocabulary (and the whole matrix would pass .NET's array limit). A narrow model with a
/// large vocabulary reaches the same products cheaply: 20,000 positions x 110,000 ids = 2.2e9 logits.
/// </summary>
[TestFixture]
public sealed class LongScoreTests
{
    static readonly CheckpointShape NarrowWideVocab = new("narrow-wide-vocab", VocabSize: 110_000, Hidden: 16, Intermediate: 16,
        Layers: 1, Heads: 1, KvHeads: 1, HeadDim: 16, Tied: true, MaxPositions: 20_480);

    [Test]
    public void TwentyThousandTokens_ScoreLikeTheirPrefixes()
    {
        const int n = 20_000;
        Assert.That((long)(n - 1) * NarrowWideVocab.VocabSize, Is.GreaterThan(int.MaxValue), "the test must cross the int32 boundary");
        var ckpt = TestCheckpoints.NewFolder("narrow-wide-vocab");
        RandomCheckpoint.Write(ckpt, NarrowWideVocab, seed: 3);
        var export = TestCheckpoints.NewFolder("narrow-wide-vocab-onnx");
        Qwen3Exporter.Export(ckpt, export);
        using var model = AdaRas.Engine.LanguageModel.Load(export);
        var random = new Random(11);
        var ids = Enumerable.Range(0, n).Select(_ => random.Next(NarrowWideVocab.VocabSize)).ToArray();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var score = Scoring.Score(model, ids);
        TestContext.Out.WriteLine($"scored {n} tokens x {NarrowWideVocab.VocabSize} ids in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.That(score.LogProbs, Has.Length.EqualTo(n - 1));
        Assert.That(score.LogProbs.All(double.IsFinite), Is.True);

        // Independently: run the prefix ids[..t+1] and read the last position's logits only.
        foreach (int t in new[] { 0, 200, n - 2 })   // inside the first window, past it, and the last position
        {
            using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = 0, MaxLength = t + 1 });
            generator.AppendTokens(ids.AsSpan(0, t + 1));
            var logits = generator.Logits;
            double max = double.NegativeInfinity;
            foreach (var v in logits) max = Math.Max(max, v);
            double sum = 0;
            foreach (var v in logits) sum += Math.Exp(v - max);
            double expected = logits[ids[t + 1]] - max - Math.Log(sum);
            Assert.That(score.LogProbs[t], Is.EqualTo(expected).Within(1e-4), $"position {t}");
        }
    }
}
