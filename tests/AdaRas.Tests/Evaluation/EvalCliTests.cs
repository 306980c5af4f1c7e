using System.Globalization;
using System.Text.Json;
using AdaRas.Engine;
using AdaRas.Evaluation.Experiments;
using AdaRas.Model;
using AdaRas.Probing;
using AdaRas.Probing.FeatureSelection;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Rcn;
using AdaRas.Tests.Cli;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Evaluation;

/// <summary>
/// The harness end to end on a tiny random checkpoint, through the `adaras` command in-process: control, steered
/// and adaptive runs of a small math benchmark, resume, shards and merge, report and sweep.
/// </summary>
[TestFixture]
public sealed class EvalCliTests
{
    const int MaxNewTokens = 12;

    static readonly (string Question, string Answer)[] Questions =
    [
        ("What is 2 + 3?", "5"),
        ("What is 7 times 6?", "42"),
        ("Compute 10 - 4.", "6"),
        ("A box holds 12 eggs. How many eggs are in 3 boxes?", "36"),
        ("What is the square root of 81?", "9"),
        ("Tom has 5 apples and eats 2. How many are left?", "3"),
    ];

    /// <summary>Questions the tiny gate is trained on, with made-up labels (the checkpoint is random).</summary>
    static readonly (string Question, bool IsGood)[] GateQuestions =
    [
        ("What is 1 + 1?", true), ("Solve x + 4 = 9.", false), ("What is 3 squared?", true), ("Factor x^2 - 1.", false),
        ("How many days are in a week?", true), ("What is 15 divided by 3?", false), ("Name a prime above 10.", true),
        ("What is 100 - 37?", false),
    ];

    string _dir = "";
    string _model = "";
    string _gateFile = "";
    /// <summary>p(correct) of each benchmark question, computed here from the gate file, independently of the harness.</summary>
    double[] _scores = [];
    double _fileThreshold;
    /// <summary>Results root of the reference control and steered runs (made once).</summary>
    string _reference = "";

    [OneTimeSetUp]
    public void MakeBenchmarkPatternGateAndReferenceRuns()
    {
        _model = TestExports.Folder(CheckpointShapes.Tiny);
        _dir = TestCheckpoints.NewFolder("eval-cli");
        Directory.CreateDirectory(_dir);
        File.WriteAllLines(Path.Combine(_dir, "questions.jsonl"), Questions.Select((q, i) =>
            JsonSerializer.Serialize(new { id = 100 + i, question = q.Question, answer = q.Answer })));

        using var model = AdaRas.Engine.LanguageModel.Load(_model);
        var shape = ModelShape.FromManifest(model.Manifest);
        WritePattern(Path.Combine(_dir, "pattern.csv"), shape);
        _gateFile = Path.Combine(_dir, "tiny.gate");
        var gate = TrainGate(model, shape);
        gate.Save(_gateFile);
        _fileThreshold = gate.Threshold;

        var loaded = AttentionGate.Load(_gateFile);
        var features = new QuestionFeatures(model, loaded.FeatureIds.ToArray());
        _scores = Questions.Select(q => loaded.PredictCorrect(features.Extract(q.Question).Tokens!)).ToArray();

        WriteConfig("control.yaml", "tiny-control", "");
        WriteConfig("steered.yaml", "tiny-steered", Steering(alpha: 2));
        WriteConfig("adaptive.yaml", "tiny-adaptive", Steering(alpha: 2) + "gate: {file: tiny.gate}\n");

        _reference = Path.Combine(_dir, "reference");
        foreach (var config in new[] { "control.yaml", "steered.yaml" })
            Assert.That(Cli("eval", "--config", Path.Combine(_dir, config), "--results", _reference).Code, Is.Zero, config);
    }

    static string Steering(double alpha, string method = "steering_add") => string.Create(CultureInfo.InvariantCulture,
        $"intervention: {{enabled: true, method: {method}, strength: {alpha}, num_neurons: 8, pattern_path: pattern.csv}}\n");

    /// <summary>Writes a config whose pattern, benchmark and gate paths are relative to the config's folder.</summary>
    string WriteConfig(string file, string name, string extra)
    {
        var path = Path.Combine(_dir, file);
        File.WriteAllText(path, $"name: {name}\nmodel: {_model}\nsample_path: questions.jsonl\ntask: math\n" +
            $"generation: {{max_new_tokens: {MaxNewTokens}}}\n" + extra);
        return path;
    }

    /// <summary>12 neurons over both layers with large class means, in our dialect (mu+ present, so every method works).</summary>
    static void WritePattern(string path, ModelShape shape)
    {
        var ranked = Enumerable.Range(0, 12).Select(k =>
        {
            int id = (k * 37 + 5) % shape.NeuronCount;
            float plus = k % 2 == 0 ? 3f - 0.1f * k : -2f, minus = k % 2 == 0 ? -1f : 2f + 0.1f * k;
            float delta = plus - minus;
            return new RankedNeuron(k + 1, id, id / shape.IntermediateSize, id % shape.IntermediateSize, plus, minus, delta,
                Math.Abs(delta) / (Math.Abs(plus) + Math.Abs(minus) + 1e-8f));
        }).ToList();
        RcnPattern.Write(path, ranked, PatternSidecar.Create(shape, new ClassCounts(4, 4, 400, 400), ranked.Count, "synthetic"));
    }

    /// <summary>The paper's recipe in miniature: F-score on pooled question activations, top 8, attention gate.</summary>
    static AttentionGate TrainGate(AdaRas.Engine.LanguageModel model, ModelShape shape)
    {
        var pooled = new QuestionFeatures(model);
        var anova = new AnovaFScore(shape.NeuronCount);
        foreach (var (q, good) in GateQuestions) anova.AddQuestion(pooled.Extract(q).MeanPooled, good);
        var ids = AnovaFScore.SelectTop(anova.ComputeScores(), 8);
        var features = new QuestionFeatures(model, ids);
        var examples = GateQuestions.Select(g => new GateExample(features.Extract(g.Question).Tokens!, g.IsGood)).ToList();
        return AttentionGateTrainer.Train(shape, ids, examples, examples,
            new AttentionGateOptions { HiddenSize = 8, MaxEpochs = 3, Seed = 5 }).Gate;
    }

    static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var result = CliRunner.Run(args);
        return (result.ExitCode, result.Out, result.Error);
    }

    static List<ResultRecord> Records(string folder) => ResultsFolder.ReadRecords(folder);

    /// <summary>A record without its timing, which differs from run to run.</summary>
    static ResultRecord Timeless(ResultRecord r) => r with { Seconds = 0 };

    string NewRoot(string name) => Path.Combine(_dir, name + "-" + Guid.NewGuid().ToString("N")[..8]);

    [Test]
    public void ControlAndSteeredRunsWriteEveryFieldAndSteeringChangesAnswers()
    {
        var control = Records(Path.Combine(_reference, "tiny-control"));
        var steered = Records(Path.Combine(_reference, "tiny-steered"));
        Assert.That(control.Select(r => r.Index), Is.EqualTo(Enumerable.Range(0, Questions.Length)));
        Assert.That(control.Select(r => r.Id), Is.EqualTo(Questions.Select((_, i) => (100 + i).ToString(CultureInfo.InvariantCulture))));
        Assert.Multiple(() =>
        {
            foreach (var r in control.Concat(steered))
            {
                Assert.That(r.Answer, Is.Not.Empty);
                Assert.That(r.Tokens, Is.InRange(1, MaxNewTokens));
                Assert.That(r.Seconds, Is.GreaterThan(0));
                Assert.That(r.Correct, Is.EqualTo(r.Extracted == Questions[r.Index].Answer));
                Assert.That(r.GateScore, Is.Null);
            }
            Assert.That(control.Select(r => r.Steered), Is.All.Null);
            Assert.That(steered.Select(r => r.Steered), Is.All.EqualTo(true));
        });
        Assert.That(steered.Select(r => r.Answer), Is.Not.EqualTo(control.Select(r => r.Answer)), "steering must change what the model writes");

        // Greedy decoding of the same config is deterministic: a second control run writes the same answers.
        var again = NewRoot("again");
        Assert.That(Cli("eval", "--config", Path.Combine(_dir, "control.yaml"), "--results", again).Code, Is.Zero);
        Assert.That(Records(Path.Combine(again, "tiny-control")).Select(Timeless), Is.EqualTo(control.Select(Timeless)));

        var summary = ResultsFolder.ReadSummary(Path.Combine(_reference, "tiny-steered"));
        Assert.That(summary.Planned, Is.EqualTo(Questions.Length));
        Assert.That(summary.Finished, Is.EqualTo(Questions.Length));
        Assert.That(summary.Complete, Is.True);
        Assert.That(summary.Steered, Is.EqualTo(Questions.Length));
        Assert.That(summary.MeanTokens, Is.EqualTo(steered.Average(r => (double)r.Tokens)).Within(1e-3));
        Assert.That(summary.Benchmark, Is.EqualTo("questions"));
    }

    [Test]
    public void AdaptiveRunSteersExactlyTheQuestionsTheGateDoubts()
    {
        var root = NewRoot("adaptive");
        var (code, stdout, stderr) = Cli("eval", "--config", Path.Combine(_dir, "adaptive.yaml"), "--results", root);
        Assert.That(code, Is.Zero, stderr);
        Assert.That(stderr, Does.Contain("adaptive").And.Contain(_fileThreshold.ToString("G4", CultureInfo.InvariantCulture)));
        Assert.That(stdout, Does.Contain("tiny-adaptive: 6/6 samples"));
        var adaptive = Records(Path.Combine(root, "tiny-adaptive"));
        Assert.That(adaptive.Select(r => r.GateScore!.Value), Is.EqualTo(_scores).Within(1e-9), "the gate's score is recorded per sample");
        Assert.That(adaptive.Select(r => r.Steered), Is.EqualTo(_scores.Select(p => (bool?)(p < _fileThreshold))), "steer when p < the file's threshold");

        // A threshold between the scores splits the questions; each answer is then the steered run's or the control's.
        var sorted = _scores.Order().ToArray();
        double middle = (sorted[2] + sorted[3]) / 2;
        Assume.That(sorted[2], Is.LessThan(sorted[3]), "the gate gives distinct scores");
        WriteConfig("adaptive-split.yaml", "tiny-adaptive-split", Steering(alpha: 2) +
            string.Create(CultureInfo.InvariantCulture, $"gate: {{file: tiny.gate, threshold: {middle:R}}}\n"));
        Assert.That(Cli("eval", "--config", Path.Combine(_dir, "adaptive-split.yaml"), "--results", root).Code, Is.Zero);
        var split = Records(Path.Combine(root, "tiny-adaptive-split"));
        var control = Records(Path.Combine(_reference, "tiny-control"));
        var steered = Records(Path.Combine(_reference, "tiny-steered"));
        Assert.That(split.Count(r => r.Steered == true), Is.EqualTo(3));
        Assert.Multiple(() =>
        {
            foreach (var r in split)
            {
                Assert.That(r.Steered, Is.EqualTo(_scores[r.Index] < middle));
                var expected = r.Steered == true ? steered[r.Index] : control[r.Index];
                Assert.That(r.Answer, Is.EqualTo(expected.Answer), $"sample {r.Id} (steered: {r.Steered})");
                Assert.That(r.Tokens, Is.EqualTo(expected.Tokens));
            }
        });
        Assert.That(ResultsFolder.ReadSummary(Path.Combine(root, "tiny-adaptive-split")).Steered, Is.EqualTo(3));

        // Thresholds 0 and 1 force the decisions: never steer = control, always steer = steered.
        WriteConfig("adaptive-never.yaml", "tiny-adaptive-never", Steering(alpha: 2) + "gate: {file: tiny.gate, threshold: 0}\n");
        Assert.That(Cli("eval", "--config", Path.Combine(_dir, "adaptive-never.yaml"), "--results", root).Code, Is.Zero);
        var never = Records(Path.Combine(root, "tiny-adaptive-never"));
        Assert.That(never.Select(r => r.Steered), Is.All.EqualTo(false));
        Assert.That(never.Select(r => r.Answer), Is.EqualTo(control.Select(r => r.Answer)));
    }

    [Test]
    public void ResumeAfterAnInterruptionReproducesTheSameOutput()
    {
        var root = NewRoot("resume");
        var reference = Path.Combine(_reference, "tiny-steered");
        var folder = Path.Combine(root, "tiny-steered");
        Directory.CreateDirectory(folder);
        // What a kill during sample 3 leaves: run.json, two finished lines and a line cut short, no summary.
        File.Copy(Path.Combine(reference, ResultsFolder.IdentityFile), Path.Combine(folder, ResultsFolder.IdentityFile));
        var lines = File.ReadAllLines(Path.Combine(reference, ResultsFolder.OutputFile));
        File.WriteAllText(Path.Combine(folder, ResultsFolder.OutputFile), lines[0] + "\n" + lines[1] + "\n" + lines[2][..(lines[2].Length / 2)]);

        var (code, _, stderr) = Cli("eval", "--config", Path.Combine(_dir, "steered.yaml"), "--results", root);
        Assert.That(code, Is.Zero, stderr);
        Assert.That(stderr, Does.Contain("  3/6 ").And.Not.Contain("  1/6 "), "the two finished samples are skipped");
        Assert.That(Records(folder).Select(Timeless), Is.EqualTo(Records(reference).Select(Timeless)));
        Assert.That(File.ReadAllLines(Path.Combine(folder, ResultsFolder.OutputFile))[..2], Is.EqualTo(lines[..2]), "finished lines are kept as they were");
        var summary = ResultsFolder.ReadSummary(folder);
        Assert.That(summary with { MeanSeconds = 0 }, Is.EqualTo(ResultsFolder.ReadSummary(reference) with { MeanSeconds = 0 }));

        // A finished run resumed again does nothing.
        var before = File.ReadAllText(Path.Combine(folder, ResultsFolder.OutputFile));
        Assert.That(Cli("eval", "--config", Path.Combine(_dir, "steered.yaml"), "--results", root).Code, Is.Zero);
        Assert.That(File.ReadAllText(Path.Combine(folder, ResultsFolder.OutputFile)), Is.EqualTo(before));
    }

    [Test]
    public void ShardsMergedThroughTheCliEqualTheUnshardedRun()
    {
        var whole = NewRoot("whole");
        var sharded = NewRoot("sharded");
        var config = Path.Combine(_dir, "adaptive.yaml");
        Assert.That(Cli("eval", "--config", config, "--results", whole).Code, Is.Zero);
        foreach (var shard in new[] { "1/2", "2/2" })
        {
            var (code, _, stderr) = Cli("eval", "--config", config, "--results", sharded, "--shard", shard);
            Assert.That(code, Is.Zero, stderr);
        }
        Assert.That(Records(Path.Combine(sharded, "tiny-adaptive", "shard-1-of-2")).Select(r => r.Index), Is.EqualTo(new[] { 0, 2, 4 }));

        var merged = Path.Combine(sharded, "tiny-adaptive");
        var (mergeCode, mergeOut, mergeErr) = Cli("eval", "merge", merged);
        Assert.That(mergeCode, Is.Zero, mergeErr);
        Assert.That(mergeOut, Does.Contain("tiny-adaptive: 6/6 samples"));
        var expected = Records(Path.Combine(whole, "tiny-adaptive"));
        Assert.That(Records(merged).Select(Timeless), Is.EqualTo(expected.Select(Timeless)));
        Assert.That(ResultsFolder.ReadSummary(merged) with { MeanSeconds = 0 },
            Is.EqualTo(ResultsFolder.ReadSummary(Path.Combine(whole, "tiny-adaptive")) with { MeanSeconds = 0 }));

        // Merging twice would overwrite results: refused.
        var (again, _, againErr) = Cli("eval", "merge", merged);
        Assert.That(again, Is.EqualTo(2));
        Assert.That(againErr, Does.Contain("refusing to overwrite"));
    }

    [Test]
    public void ReportPrintsTheComparisonAndWritesPlots()
    {
        var root = NewRoot("report");
        Assert.That(Cli("eval", "--config", Path.Combine(_dir, "adaptive.yaml"), "--results", root).Code, Is.Zero);
        var output = Path.Combine(root, "comparison");
        var (code, stdout, stderr) = Cli("report", Path.Combine(_reference, "tiny-control"), Path.Combine(_reference, "tiny-steered"),
            Path.Combine(root, "tiny-adaptive"), "--out", output);
        Assert.That(code, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("| tiny-control | 6 |").And.Contain("| tiny-steered | 6 |").And.Contain("| tiny-adaptive | 6 |"));
        Assert.That(stdout, Does.Contain("McNemar exact p").And.Contain("Paired against **tiny-control**"));
        Assert.That(File.ReadAllText(Path.Combine(output, "report.md")), Does.Contain(stdout.Trim()));
        foreach (var png in new[] { "accuracy.png", "tokens.png" })
            Assert.That(File.ReadAllBytes(Path.Combine(output, png)).Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), png);

        // A folder of unmerged shards is named as such.
        var shards = NewRoot("unmerged");
        Assert.That(Cli("eval", "--config", Path.Combine(_dir, "control.yaml"), "--results", shards, "--shard", "1/2", "--limit", "2").Code, Is.Zero);
        var (bad, _, badErr) = Cli("report", Path.Combine(shards, "tiny-control"));
        Assert.That(bad, Is.EqualTo(2));
        Assert.That(badErr, Does.Contain("adaras eval merge"));
    }

    [Test]
    public void SweepRunsEveryPointIntoItsOwnFolderAndPlotsAccuracyAgainstAlpha()
    {
        var root = NewRoot("sweep");
        string[] args = ["sweep", "--config", Path.Combine(_dir, "steered.yaml"), "--alphas", "0.5,4", "--neurons", "2,8", "--limit", "2", "--results", root];
        var (code, stdout, stderr) = Cli(args);
        Assert.That(code, Is.Zero, stderr);
        var points = new[] { (2, "0.5"), (2, "4"), (8, "0.5"), (8, "4") };
        foreach (var (k, alpha) in points)
        {
            var name = $"tiny-steered-k{k}-a{alpha}";
            var folder = Path.Combine(root, name);
            var summary = ResultsFolder.ReadSummary(folder);
            Assert.That(summary.Finished, Is.EqualTo(2), name);
            Assert.That(summary.Steered, Is.EqualTo(2), name);
            var config = ResultsFolder.ReadIdentity(folder)!.Config.GetProperty("intervention");
            Assert.That(config.GetProperty("num_neurons").GetInt32(), Is.EqualTo(k));
            Assert.That(config.GetProperty("strength").GetDouble(), Is.EqualTo(double.Parse(alpha, CultureInfo.InvariantCulture)));
            Assert.That(stdout, Does.Contain($"| {k} | {alpha} |").And.Contain(name));
        }
        var answers = points.Select(p => Records(Path.Combine(root, $"tiny-steered-k{p.Item1}-a{p.Item2}"))[0].Answer).ToList();
        Assert.That(answers.Distinct().Count(), Is.GreaterThan(1), "K and alpha change the steering");

        var sweep = Path.Combine(root, "tiny-steered-sweep");
        Assert.That(File.ReadAllBytes(Path.Combine(sweep, "sweep.png")).Take(4), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47 }));
        Assert.That(File.ReadAllText(Path.Combine(sweep, "sweep.md")), Does.Contain(stdout.Trim()));
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(sweep, "sweep.json"))))
            Assert.That(json.RootElement.GetProperty("rows").GetArrayLength(), Is.EqualTo(4));

        // Rerunning resumes every point: nothing is generated again.
        var before = points.Select(p => File.ReadAllText(Path.Combine(root, $"tiny-steered-k{p.Item1}-a{p.Item2}", ResultsFolder.OutputFile))).ToList();
        var rerun = Cli(args);
        Assert.That(rerun.Code, Is.Zero, rerun.Err);
        Assert.That(rerun.Out, Is.EqualTo(stdout));
        Assert.That(points.Select(p => File.ReadAllText(Path.Combine(root, $"tiny-steered-k{p.Item1}-a{p.Item2}", ResultsFolder.OutputFile))), Is.EqualTo(before));
    }

    [Test]
    public void MethodAndPositionsOfTheConfigReachTheEngine()
    {
        var root = NewRoot("method");
        var config = WriteConfig("blend-all.yaml", "tiny-blend-all",
            "intervention: {enabled: true, method: linear_blend, strength: 0.9, num_neurons: 8, pattern_path: pattern.csv, positions: all}\n");
        var (code, _, stderr) = Cli("eval", "--config", config, "--results", root, "--limit", "3");
        Assert.That(code, Is.Zero, stderr);
        Assert.That(stderr, Does.Contain("linear_blend alpha=0.9 K=8 positions=all pattern=pattern.csv"));
        var blended = Records(Path.Combine(root, "tiny-blend-all"));
        var added = Records(Path.Combine(_reference, "tiny-steered")).Take(3);
        var control = Records(Path.Combine(_reference, "tiny-control")).Take(3);
        Assert.That(blended.Select(r => r.Answer), Is.Not.EqualTo(added.Select(r => r.Answer)));
        Assert.That(blended.Select(r => r.Answer), Is.Not.EqualTo(control.Select(r => r.Answer)));
    }

    [Test]
    public void BadInputExitsWithTwoAndNamesTheFileAndLine()
    {
        var config = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(config, $"name: bad\nmodel: {_model}\nsamples: questions.jsonl\ntask: math\n");
        var (code, _, stderr) = Cli("eval", "--config", config, "--results", NewRoot("bad"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.StartWith($"error: {config}:3: unknown key 'samples'"));

        var missingPattern = WriteConfig("missing-pattern.yaml", "missing", "intervention: {enabled: true, pattern_path: nowhere.csv}\n");
        (code, _, stderr) = Cli("eval", "--config", missingPattern, "--results", NewRoot("bad"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("pattern_path 'nowhere.csv'").And.Contain(missingPattern));

        // The paper's Qwen3-1.7B pattern does not fit the tiny model: refused with the file and line.
        var wrongShape = WriteConfig("wrong-shape.yaml", "wrong", "intervention: {enabled: true, pattern_path: AIME_Qwen3-1.7B.csv}\n");
        (code, _, stderr) = Cli("eval", "--config", wrongShape, "--results", NewRoot("bad"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("AIME_Qwen3-1.7B.csv:2"));

        (code, _, stderr) = Cli("sweep", "--config", Path.Combine(_dir, "steered.yaml"), "--alphas", "0.1,x", "--neurons", "2", "--results", NewRoot("bad"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--alphas: 'x'"));
    }
}
