using System.Buffers.Binary;
using AdaRas.Evaluation.Experiments;
using AdaRas.Evaluation.Reports;
using SkiaSharp;

namespace AdaRas.Tests.Evaluation;

[TestFixture]
public class ReportTests
{
    string _dir = "";

    [SetUp]
    public void MakeDir() => _dir = Path.Combine(Path.GetTempPath(), $"adaras-report-{Guid.NewGuid():N}");

    [TearDown]
    public void RemoveDir()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    // Exact values: 2 * sum_{i<=min(b,c)} C(b+c, i) / 2^(b+c), computed with integer arithmetic.
    [TestCase(1, 9, 0.021484375)]
    [TestCase(9, 1, 0.021484375)]
    [TestCase(0, 5, 0.0625)]
    [TestCase(3, 3, 1.0)]
    [TestCase(0, 0, 1.0)]
    [TestCase(2, 12, 0.012939453125)]
    [TestCase(10, 0, 0.001953125)]
    [TestCase(5, 10, 0.3017578125)]
    [TestCase(12, 3, 0.03515625)]
    [TestCase(7, 2, 0.1796875)]
    [TestCase(400, 500, 0.0009564441369189461)]
    [TestCase(1000, 1100, 0.030720707864242296)]
    public void McNemarExactPValue(int b, int c, double expected) =>
        Assert.That(McNemar.ExactPValue(b, c), Is.EqualTo(expected).Within(1e-12).Or.EqualTo(expected).Within(1e-9).Percent);

    static ResultRecord R(int i, bool correct, int tokens = 100, double seconds = 1, bool? steered = null) => new()
    {
        Index = i, Id = i.ToString(), Answer = "a", Correct = correct, Tokens = tokens, Seconds = seconds, Steered = steered,
    };

    static RunResults Run(string name, params ResultRecord[] records)
    {
        var summary = new ExperimentSummary
        {
            Name = name, ConfigHash = "h", Benchmark = "b", Task = "math", Planned = records.Length, Finished = records.Length,
            Correct = records.Count(r => r.Correct), Accuracy = 0, MeanTokens = 0, MeanSeconds = 0, Complete = true,
        };
        return new RunResults(name, "/nowhere", summary, records);
    }

    static (RunResults Control, RunResults Steered, RunResults Adaptive) ThreeRuns()
    {
        // control right on 0,1,2; steered fixes 3,4,5 and breaks 0; adaptive fixes 3 and breaks nothing.
        var control = Run("control", R(0, true, 100), R(1, true, 200), R(2, true, 300), R(3, false, 400), R(4, false, 500), R(5, false, 600));
        var steered = Run("steered", R(0, false, 110, 2, true), R(1, true, 210, 2, true), R(2, true, 310, 2, true),
            R(3, true, 410, 2, true), R(4, true, 510, 2, true), R(5, true, 610, 2, true));
        var adaptive = Run("adaptive", R(0, true, 100, 1, false), R(1, true, 200, 1, false), R(2, true, 300, 1, false),
            R(3, true, 410, 2, true), R(4, false, 510, 2, true), R(5, false, 600, 1, false), R(6, true));
        return (control, steered, adaptive);
    }

    [Test]
    public void ComparisonTableAndFlipsAgainstTheFirstRun()
    {
        var (control, steered, adaptive) = ThreeRuns();
        var report = ComparisonReport.Compare([control, steered, adaptive]);
        Assert.That(report.Rows[0], Is.EqualTo(new RunRow("control", 6, 3, 0.5, 350, 1, null)));
        Assert.That(report.Rows[1], Is.EqualTo(new RunRow("steered", 6, 5, 5.0 / 6, 360, 2, 6)));
        Assert.That(report.Rows[2].Steered, Is.EqualTo(2));
        Assert.That(report.Flips[0], Is.EqualTo(new PairedFlips("steered", "control", 6, 3, 1, 0.625)));
        Assert.That(report.Flips[1], Is.EqualTo(new PairedFlips("adaptive", "control", 6, 1, 0, 1.0)), "sample 6 has no pair");
        Assert.That(report.Flips[0].NetGain, Is.EqualTo(2));

        var md = report.ToMarkdown();
        Assert.That(md, Does.Contain("| steered | 6 | 5 | 83.33% | 360.0 | 2.00 | 6 |"));
        Assert.That(md, Does.Contain("| steered | 6 | 3 | 1 | +2 | 0.625 |"));
        Assert.That(() => ComparisonReport.Compare([control, control]), Throws.InstanceOf<UsageException>());
    }

    [Test]
    public void CodeRunsReportEvalPlusBaseApartFromBasePlus()
    {
        // Code records carry both verdicts: base+plus in Correct (the paper's), the base tests alone in CorrectBase.
        static ResultRecord C(int i, bool basePlus, bool baseOnly) => R(i, basePlus) with { CorrectBase = baseOnly };
        var control = Run("control", C(0, true, true), C(1, false, true), C(2, false, true), C(3, false, false));
        var steered = Run("steered", C(0, true, true), C(1, true, true), C(2, false, false), C(3, false, false));
        var report = ComparisonReport.Compare([control, steered]);
        Assert.That(report.Rows[0].Correct, Is.EqualTo(1));
        Assert.That(report.Rows[0].CorrectBase, Is.EqualTo(3));
        Assert.That(report.Rows[1].CorrectBase, Is.EqualTo(2));
        var md = report.ToMarkdown();
        Assert.That(md, Does.Contain("| correct (base+plus) | accuracy (base+plus) | correct (base) | accuracy (base) |"));
        Assert.That(md, Does.Contain("| control | 4 | 1 | 25.00% | 3 | 75.00% | 100.0 |"));
        Assert.That(md, Does.Contain("| steered | 4 | 2 | 50.00% | 2 | 50.00% | 100.0 |"));
        // Math runs keep their table (no base columns).
        Assert.That(ComparisonReport.Compare([Run("m", R(0, true))]).ToMarkdown(), Does.Not.Contain("base"));
    }

    [Test]
    public void ReportWritesMarkdownAndValidPngs()
    {
        var (control, steered, adaptive) = ThreeRuns();
        ComparisonReport.Compare([control, steered, adaptive]).Write(_dir);
        Assert.That(File.ReadAllText(Path.Combine(_dir, "report.md")), Does.Contain("McNemar"));
        AssertValidPng(Path.Combine(_dir, "accuracy.png"));
        AssertValidPng(Path.Combine(_dir, "tokens.png"));
    }

    [Test]
    public void RunResultsLoadsAResultsFolder()
    {
        var runner = new ExperimentRunner(_dir);
        var config = ExperimentConfig.Parse("name: tiny\nmodel: m\nsample_path: aime25\ntask: math\n");
        runner.Run(config, new Echo(), new ExperimentRunOptions { Limit = 4 });
        var run = RunResults.Load(runner.FolderFor(config));
        Assert.That(run.Name, Is.EqualTo("tiny"));
        Assert.That(run.Records, Has.Count.EqualTo(4));
        Assert.That(run.Summary.Accuracy, Is.EqualTo(1.0));
    }

    sealed class Echo : IAnswerSource
    {
        public SampleAnswer Answer(AdaRas.Evaluation.Benchmarks.BenchmarkSample sample, string userMessage, CancellationToken ct) =>
            new($"</think>\\boxed{{{sample.Answer}}}", 10, 0.5);
    }

    [Test]
    public void SweepAndRocPlotsAreValidPngs()
    {
        var sweep = Path.Combine(_dir, "sweep.png");
        Plots.Sweep([
            new SweepSeries("K=20", [0.3, 0.1, 0.2], [48, 52, 55]),
            new SweepSeries("K=50", [0.1, 0.2, 0.3], [50, 57, 61]),
            new SweepSeries("K=100", [0.1, 0.2, 0.3], [49, 53, 51]),
        ], sweep);
        AssertValidPng(sweep);

        var roc = Path.Combine(_dir, "sub", "roc.png");
        Plots.Roc([0, 0.1, 0.25, 0.5, 1], [0, 0.4, 0.7, 0.9, 1], roc, auc: 0.79, operatingPoint: (0.25, 0.7));
        AssertValidPng(roc);

        Assert.That(() => Plots.Roc([0, 1], [0], roc), Throws.ArgumentException);
        Assert.That(() => Plots.Roc([0, 1.5], [0, 1], roc), Throws.ArgumentException);
        Assert.That(() => Plots.Sweep([new SweepSeries("K", [0.1], [])], sweep), Throws.ArgumentException);
        Assert.That(Directory.GetFiles(_dir, "*.tmp-*", SearchOption.AllDirectories), Is.Empty, "no temporary files left");
    }

    /// <summary>PNG signature, an IHDR of the plot's size, decodable, and not a blank canvas.</summary>
    static void AssertValidPng(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "PNG signature");
        Assert.That(System.Text.Encoding.ASCII.GetString(bytes, 12, 4), Is.EqualTo("IHDR"));
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), Is.EqualTo(Plots.Width));
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)), Is.EqualTo(Plots.Height));
        using var bitmap = SKBitmap.Decode(path);
        Assert.That(bitmap, Is.Not.Null, "decodable");
        var colours = new HashSet<SKColor>();
        for (int y = 0; y < bitmap.Height; y += 7)
            for (int x = 0; x < bitmap.Width; x += 7)
                colours.Add(bitmap.GetPixel(x, y));
        Assert.That(colours.Count, Is.GreaterThan(3), "the image has content");
    }
}
