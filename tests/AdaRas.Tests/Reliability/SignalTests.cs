using System.Text.Json;
using AdaRas.Evaluation.Experiments;
using AdaRas.Export;

namespace AdaRas.Tests.Reliability;

/// <summary>
/// Ctrl+C and SIGTERM sent as real signals to a child `adaras` process: the verb stops at the next step, writes
/// what it promised (eval: summary.json), releases its lock, and exits 130 with "cancelled". Before, the runtime's
/// default handling killed the process within milliseconds and none of that happened.
/// </summary>
[TestFixture]
public sealed class SignalTests
{
    string _dir = "";
    string _config = "";

    [OneTimeSetUp]
    public void LongBenchmark()
    {
        _dir = TestCheckpoints.NewFolder("signals");
        Directory.CreateDirectory(_dir);
        // Enough samples that the run is still going when the signal arrives, however fast the machine.
        File.WriteAllLines(Path.Combine(_dir, "many.jsonl"), Enumerable.Range(0, 5000).Select(i =>
            JsonSerializer.Serialize(new { id = i, question = $"What is {i} + {i}?", answer = $"{2 * i}" })));
        _config = Path.Combine(_dir, "long.yaml");
        File.WriteAllText(_config, $"name: long\nmodel: {TestExports.Folder(CheckpointShapes.Tiny)}\nsample_path: many.jsonl\ntask: math\n" +
            "generation: {max_new_tokens: 48}\n");
    }

    [TestCase("INT")]
    [TestCase("TERM")]
    public void EvalStopsCleanlyOnASignal_WritesItsSummary_AndReleasesTheLock(string signal)
    {
        var results = Path.Combine(_dir, "results-" + signal);
        var folder = Path.Combine(results, "long");
        using var child = new ChildAdaras(["eval", "--config", _config, "--results", results]);
        child.WaitUntil(() => File.Exists(Path.Combine(folder, ResultsFolder.OutputFile))
                              && File.ReadAllText(Path.Combine(folder, ResultsFolder.OutputFile)).Contains('\n'),
            TimeSpan.FromSeconds(120), "a finished sample");
        Assert.That(File.Exists(Path.Combine(folder, ".lock")), Is.True, "the run holds its lock while it runs");

        child.Signal(signal);
        int code = child.WaitForExit(TimeSpan.FromSeconds(60));

        Assert.That(code, Is.EqualTo(130), child.Error);
        Assert.That(child.Error, Does.Contain("cancelled"));
        Assert.That(File.Exists(Path.Combine(folder, ".lock")), Is.False, "the lock is released");
        var summary = ResultsFolder.ReadSummary(folder);
        var records = ResultsFolder.ReadRecords(folder);
        Assert.That(summary.Complete, Is.False);
        Assert.That(summary.Finished, Is.EqualTo(records.Count).And.GreaterThan(0).And.LessThan(5000));

        // The cancelled run resumes: a short continuation adds samples after the ones already there.
        var resumed = ChildAdaras.Run(["eval", "--config", _config, "--results", results, "--limit", $"{records.Count + 2}"], TimeSpan.FromSeconds(120));
        Assert.That(resumed.Code, Is.Zero, resumed.Error);
        Assert.That(ResultsFolder.ReadRecords(folder).Select(r => r.Index), Is.EqualTo(Enumerable.Range(0, records.Count + 2)));
    }

    [Test]
    public void ExportCancelledMidway_LeavesNeitherOutputNorTemporaryFolder()
    {
        var parent = TestCheckpoints.NewFolder("export-cancel");
        var output = Path.Combine(parent, "out");
        using var cancel = new CancellationTokenSource();
        var steps = new List<string>();
        var progress = new SynchronousProgress(p =>
        {
            steps.Add(p.Step);
            if (p.Step.StartsWith("layer", StringComparison.Ordinal)) cancel.Cancel();   // mid-build, files already written
        });
        Assert.Throws<OperationCanceledException>(() => Qwen3Exporter.Export(TestCheckpoints.Folder(CheckpointShapes.Tiny), output,
            new ExportOptions { ExternalData = ExternalDataMode.Always }, progress, cancel.Token));
        Assert.That(steps.Any(s => s.StartsWith("layer", StringComparison.Ordinal)), Is.True, string.Join(",", steps.Distinct()));
        Assert.That(Directory.Exists(output), Is.False);
        Assert.That(Directory.GetFileSystemEntries(parent), Is.Empty, "the temporary folder is removed");
    }

    [Test]
    public void MakeCheckpointStopsCleanlyOnASignal_LeavingNothingBehind()
    {
        // A Qwen3-0.6B-shaped checkpoint takes many seconds to write: the signal lands while weights are written.
        var parent = TestCheckpoints.NewFolder("make-checkpoint-signal");
        Directory.CreateDirectory(parent);
        var output = Path.Combine(parent, "big");
        using var child = new ChildAdaras(["make-checkpoint", output, "--shape", "qwen3-0.6b"]);
        child.WaitUntil(() => Directory.GetDirectories(parent, "big.tmp-*").Any(d => Directory.GetFiles(d, "model.safetensors*").Length > 0),
            TimeSpan.FromSeconds(120), "weights being written");
        StopsByItsToken(child, "INT");
        Assert.That(Directory.GetFileSystemEntries(parent), Is.Empty, "no output and no temporary folder");
    }

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void BenchStopsCleanlyOnASignal_AndKillsItsWorker()
    {
        var cache = TestCheckpoints.NewFolder("bench-signal");
        Directory.CreateDirectory(cache);
        var output = Path.Combine(cache, "report");
        using var child = new ChildAdaras(["bench", "--shapes", "tiny", "--parts", "decode", "--reps", "100", "--precisions", "fp32",
            "--no-llama", "--prompt", "16", "--new-tokens", "8", "--out", output], new Dictionary<string, string> { ["ADARAS_CACHE"] = cache });
        child.WaitUntil(() => child.Error.Contains("round 2/100"), TimeSpan.FromSeconds(240), "the second decode round");
        StopsByItsToken(child, "TERM");
        Assert.That(Directory.Exists(output), Is.False, "no half-written report");
        Thread.Sleep(500);
        Assert.That(AdaRas.Tests.Evaluation.PythonSandboxTests.ProcessesWith(cache).Where(p => p.Contains("bench-worker")), Is.Empty,
            "a benchmark worker outlived the cancelled bench");
    }

    /// <summary>
    /// The quick verbs (and every verb before it starts): a cancellation that is already there when the verb begins
    /// makes it exit 130 having written nothing. Their writes are atomic, so a later signal leaves a whole file or none.
    /// </summary>
    /// <summary>
    /// Sends <paramref name="signal"/> and requires exit 130 within 20 s, stopped by the cancellation token (it prints
    /// "cancelled"), not by the 30 s hard-exit fallback (which prints "did not stop").
    /// </summary>
    static void StopsByItsToken(ChildAdaras child, string signal)
    {
        child.Signal(signal);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int code = child.WaitForExit(TimeSpan.FromSeconds(60));
        Assert.That(code, Is.EqualTo(130), child.Error);
        Assert.That(child.Error, Does.Contain("cancelled").And.Not.Contain("did not stop"), "stopped by the token, not the 30 s fallback");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)));
    }

    [Test]
    public void QuickVerbsOnACancelledTokenExit130AndWriteNothing()
    {
        var dir = TestCheckpoints.NewFolder("cancelled-verbs");
        Directory.CreateDirectory(dir);
        var model = TestExports.Folder(CheckpointShapes.Tiny);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var verbs = new[]
        {
            new[] { "info", model },
            ["tokenize", "hello", "--model", model],
            ["report", Path.Combine(dir, "run"), "--out", Path.Combine(dir, "report")],
            ["eval", "merge", Path.Combine(dir, "run")],
            ["make-checkpoint", Path.Combine(dir, "ckpt"), "--shape", "tiny"],
            ["control-vector", "--model", TestCheckpoints.Folder(CheckpointShapes.Tiny), "--steer", Path.Combine(dir, "p.csv"), "--out", Path.Combine(dir, "v.gguf")],
            ["bench", "--shapes", "tiny", "--parts", "ranking", "--out", Path.Combine(dir, "bench")],
        };
        foreach (var args in verbs)
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = AdaRas.Cli.Program.Run(args, stdout, stderr, cancelled.Token);
            Assert.That(code, Is.EqualTo(130), $"{args[0]}: {stderr}");
            Assert.That(stdout.ToString(), Is.Empty, args[0]);
        }
        Assert.That(Directory.GetFileSystemEntries(dir), Is.Empty);
    }

    internal sealed class SynchronousProgress(Action<ExportProgress> report) : IProgress<ExportProgress>
    {
        public void Report(ExportProgress value) => report(value);
    }
}
