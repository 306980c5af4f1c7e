using AdaRas.Evaluation.Speed;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Steering;

public sealed class IdentifyBenchTests
{
    [Test]
    public void Throughput_MeasuresBothOnTheSameTokens_CappedAtTheContext()
    {
        var folder = TestExports.Folder(CheckpointShapes.Tiny);
        var t = IdentifyBench.MeasureThroughput(folder, tokens: 10_000, chunkSize: 64, repetitions: 1);
        Assert.That((t.Tokens, t.ChunkSize, t.Repetitions), Is.EqualTo((256, 64, 1)));
        Assert.That(t.IdentifyTokensPerSecond, Is.GreaterThan(0));
        Assert.That(t.ScoringTokensPerSecond, Is.GreaterThan(0));
        Assert.That(t.Ratio, Is.EqualTo(t.IdentifyTokensPerSecond / t.ScoringTokensPerSecond));
        Assert.Throws<ArgumentOutOfRangeException>(() => IdentifyBench.MeasureThroughput(folder, tokens: 1));
    }

    /// <summary>Teacher forcing for identification (no logits, sum tap) is at least as fast as scoring the same text.</summary>
    [Test, Category("Performance")]
    public void ProbeThroughput_IsAtLeast95PercentOfScoring()
    {
        var t = IdentifyBench.MeasureThroughput(TestExports.Folder(CheckpointShapes.Tiny), tokens: 256, chunkSize: 64, repetitions: 5);
        TestContext.Out.WriteLine($"identify {t.IdentifyTokensPerSecond:F0} tok/s, scoring {t.ScoringTokensPerSecond:F0} tok/s: {t.Ratio:F2}x");
        Assert.That(t.Ratio, Is.GreaterThanOrEqualTo(0.95));
    }
}
