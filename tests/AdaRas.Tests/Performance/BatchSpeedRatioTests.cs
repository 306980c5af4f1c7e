using AdaRas.Evaluation.Speed;
using AdaRas.Export;
using AdaRas.Model.Synthetic;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Performance;

/// <summary>
/// Batched decoding must pay off: 8 rows in one session (every other row steered, so the per-row steering path
/// runs) decode several times the aggregate tokens/s of one row, measured side by side on the same model. The
/// target on the Qwen3-0.6B shape is >= 4x (`adaras bench --parts batch`); this mid-sized shape keeps CI fast, and
/// the margin is generous for a noisy shared machine.
/// </summary>
[Category("Performance")]
public class BatchSpeedRatioTests
{
    static readonly CheckpointShape Mid = PerformanceShapes.Small;

    [Test]
    public void Batch8_DecodesSeveralTimesTheAggregateTokensPerSecondOfOneRow()
    {
        var folder = TestCheckpoints.NewFolder("perf-batch");
        Qwen3Exporter.Export(TestCheckpoints.Folder(Mid), folder, new ExportOptions { Steerable = true });
        using var model = AdaRas.Engine.LanguageModel.Load(folder);
        var result = BatchBench.Measure(model, rows: 8, promptTokens: 32, newTokens: 24, repetitions: 3);
        TestContext.Out.WriteLine($"batch 1: {result.SingleTokensPerSecond:F1} tok/s, batch 8: {result.BatchTokensPerSecond:F1} tok/s, ratio {result.Ratio:F2} (target >= 4 on the 0.6B shape)");
        Assert.That(result.Ratio, Is.GreaterThan(2.5));
    }
}
