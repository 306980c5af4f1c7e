using AdaRas.Model;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Engine;
using AdaRas.Evaluation.Experiments;
using AdaRas.Steering.Plans;

namespace AdaRas.Tests.Evaluation;

[TestFixture]
public class ExperimentConfigTests
{
    const string Full = """
        # AIME-24, adaptive steering
        name: aime24-adaptive
        model: models/qwen3-1.7b
        sample_path: aime24
        task: math
        generation:
          max_new_tokens: 4096
          do_sample: false
          temperature: 0.7
          top_p: 0.8
          top_k: 10
          seed: 7
        intervention:
          enabled: true
          method: linear_blend
          strength: 0.3
          num_neurons: 50
          pattern_path: patterns/AIME_Qwen3-1.7B.csv
          positions: all
        gate:
          file: gates/aime.gate
          threshold: 0.42
        """;

    [Test]
    public void ParsesEveryField()
    {
        var c = ExperimentConfig.Parse(Full, "full.yaml");
        Assert.That(c.Name, Is.EqualTo("aime24-adaptive"));
        Assert.That(c.Model, Is.EqualTo("models/qwen3-1.7b"));
        Assert.That(c.SamplePath, Is.EqualTo("aime24"));
        Assert.That(c.Task, Is.EqualTo(BenchmarkTask.Math));
        Assert.That(c.Generation, Is.EqualTo(new GenerationSettings { MaxNewTokens = 4096, DoSample = false, Temperature = 0.7, TopP = 0.8, TopK = 10, Seed = 7 }));
        Assert.That(c.Intervention, Is.EqualTo(new InterventionSettings
        {
            Enabled = true, Method = SteeringMethod.LinearBlend, Strength = 0.3, NumNeurons = 50,
            PatternPath = "patterns/AIME_Qwen3-1.7B.csv", Positions = SteeringPositions.All,
        }));
        Assert.That(c.Gate, Is.EqualTo(new GateSettings { File = "gates/aime.gate", Threshold = 0.42 }));
    }

    [Test]
    public void DefaultsAreThePapersAndJsonWorksToo()
    {
        var c = ExperimentConfig.Parse("""{"name": "gsm8k-control", "model": "m", "sample_path": "gsm8k", "task": "math"}""");
        Assert.That(c.Generation.DoSample, Is.False);
        Assert.That(c.Generation.MaxNewTokens, Is.EqualTo(32768));
        Assert.That(c.Intervention.Enabled, Is.False);
        Assert.That(c.Intervention.NumNeurons, Is.EqualTo(50));
        Assert.That(c.Intervention.Method, Is.EqualTo(SteeringMethod.SteeringAdd));
        Assert.That(c.Gate, Is.Null);
    }

    [Test]
    public void HashIgnoresFormattingButNotValues()
    {
        var a = ExperimentConfig.Parse(Full);
        var reordered = ExperimentConfig.Parse("task: math\nsample_path: aime24\nmodel: models/qwen3-1.7b\nname: aime24-adaptive\n" +
            "gate: {threshold: 0.420, file: gates/aime.gate}\n" +
            "intervention: {positions: all, pattern_path: patterns/AIME_Qwen3-1.7B.csv, num_neurons: 50, strength: 0.30, method: linear_blend, enabled: yes}\n" +
            "generation: {seed: 7, top_k: 10, top_p: 0.8, temperature: 0.7, do_sample: false, max_new_tokens: 4096}  # same\n");
        Assert.That(reordered.Hash, Is.EqualTo(a.Hash));
        Assert.That(a.Hash, Has.Length.EqualTo(64));
        var stronger = ExperimentConfig.Parse(Full.Replace("strength: 0.3", "strength: 0.2"));
        Assert.That(stronger.Hash, Is.Not.EqualTo(a.Hash));
    }

    [Test]
    public void UnfinishedThoughtsRule_IsParsed_AndLeavesOlderConfigsHashesAlone()
    {
        const string plain = "name: a\nmodel: m\nsample_path: s\ntask: math\n";
        var strict = ExperimentConfig.Parse(plain);
        var paper = ExperimentConfig.Parse(plain + "scoring: {unfinished_thoughts: last_box}\n");
        var explicitStrict = ExperimentConfig.Parse(plain + "scoring:\n  unfinished_thoughts: no_answer\n");
        Assert.That((strict.UnfinishedThoughts, paper.UnfinishedThoughts, explicitStrict.UnfinishedThoughts),
            Is.EqualTo((UnfinishedThoughts.NoAnswer, UnfinishedThoughts.LastBox, UnfinishedThoughts.NoAnswer)));
        Assert.That(strict.ToCanonicalJson(), Does.Not.Contain("scoring"), "no section, no key: results folders made before it still resume");
        Assert.That(paper.ToCanonicalJson(), Does.Contain("\"unfinished_thoughts\": \"last_box\""));
        Assert.That(paper.Hash, Is.Not.EqualTo(strict.Hash), "a different scoring rule is a different run");
    }

    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: math\ncolour: red\n", 5, "unknown key 'colour'")]
    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: physics\n", 4, "task must be math or code")]
    [TestCase("model: m\nsample_path: s\ntask: math\n", 1, "missing 'name'")]
    [TestCase("name: a/b\nmodel: m\nsample_path: s\ntask: math\n", 1, "names the results folder")]
    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: math\ngeneration:\n  max_new_tokens: lots\n", 6, "'max_new_tokens' must be an integer")]
    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: math\ngeneration:\n  top_p: 1.5\n", 6, "'top_p' must be a number in [0, 1]")]
    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: math\nintervention:\n  enabled: true\n  method: multiply\n  pattern_path: p.csv\n", 7, "method must be steering_add")]
    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: math\nintervention:\n  enabled: true\n", 6, "needs pattern_path")]
    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: math\ngate:\n  file: g.gate\n", 6, "needs intervention.enabled: true")]
    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: math\nintervention: {enabled: maybe}\n", 5, "'enabled' must be true or false")]
    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: math\nname: b\n", 5, "Duplicate key")]
    [TestCase("name: [a\n", 2, "")]
    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: math\nscoring: {unfinished_thoughts: maybe}\n", 5, "unfinished_thoughts must be no_answer or last_box")]
    [TestCase("name: a\nmodel: m\nsample_path: s\ntask: math\nscoring: {strict: true}\n", 5, "unknown key 'strict'")]
    public void BadConfigsNameTheLine(string yaml, int line, string problem)
    {
        var e = Assert.Throws<ExperimentConfigException>(() => ExperimentConfig.Parse(yaml, "bad.yaml"))!;
        Assert.That(e.Message, Does.StartWith($"bad.yaml:{line}: "));
        Assert.That(e.Message, Does.Contain(problem));
    }

    [Test]
    public void LoadNamesTheFile()
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"cfg-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "name: a\nmodel: m\nsample_path: s\ntask: code\nbogus: 1\n");
        try
        {
            Assert.That(() => ExperimentConfig.Load(path), Throws.TypeOf<ExperimentConfigException>().With.Message.StartsWith($"{path}:5: "));
        }
        finally { File.Delete(path); }
    }
}

[TestFixture]
public class ExperimentRunnerTests
{
    string _root = "";

    [SetUp]
    public void MakeRoot() => _root = Path.Combine(Path.GetTempPath(), $"adaras-results-{Guid.NewGuid():N}");

    [TearDown]
    public void RemoveRoot()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    static ExperimentConfig Config(string name = "aime24-fake", double strength = 0.3) => ExperimentConfig.Parse(
        $"name: {name}\nmodel: fake\nsample_path: aime24\ntask: math\n" +
        $"intervention: {{enabled: true, strength: {strength}, pattern_path: p.csv}}\ngate: {{file: g.gate}}\n");

    /// <summary>A batching stand-in: answers every sample as <see cref="FakeSource"/> does, finishing them in reverse order.</summary>
    sealed class ReversedBatchSource : IBatchAnswerSource
    {
        readonly FakeSource _inner = new();
        public int? BatchSize { get; private set; }
        public SampleAnswer Answer(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken) =>
            _inner.Answer(sample, userMessage, cancellationToken);
        public IEnumerable<(BenchmarkSample Sample, SampleAnswer Answer)> AnswerAll(
            IReadOnlyList<(BenchmarkSample Sample, string UserMessage)> work, int batchSize, CancellationToken cancellationToken)
        {
            BatchSize = batchSize;
            return work.Reverse().Select(w => (w.Sample, _inner.Answer(w.Sample, w.UserMessage, cancellationToken))).ToList();
        }
    }

    [Test]
    public void BatchedSourceFinishingOutOfOrder_LeavesTheSameOutputFileAsOneByOne()
    {
        var one = new ExperimentRunner(Path.Combine(_root, "one"));
        one.Run(Config(), new FakeSource(), new ExperimentRunOptions { Limit = 12 });
        var batched = new ExperimentRunner(Path.Combine(_root, "batched"));
        var source = new ReversedBatchSource();
        batched.Run(Config(), source, new ExperimentRunOptions { Limit = 12, BatchSize = 4 });
        Assert.That(source.BatchSize, Is.EqualTo(4));
        string Output(ExperimentRunner r) => File.ReadAllText(Path.Combine(r.FolderFor(Config()), ResultsFolder.OutputFile));
        Assert.That(Output(batched), Is.EqualTo(Output(one)));
    }

    /// <summary>
    /// A deterministic stand-in for the engine: right on two samples in three, a gate score from the index,
    /// tokens and seconds from the index. Can cancel after a given number of answers.
    /// </summary>
    sealed class FakeSource(CancellationTokenSource? cancelAfter = null, int cancelCount = int.MaxValue, ManualClock? clock = null) : IAnswerSource
    {
        public List<string> Asked { get; } = [];

        public SampleAnswer Answer(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Assert.That(userMessage, Does.StartWith("Question: " + sample.Question));
            Asked.Add(sample.Id);
            clock?.Advance(TimeSpan.FromSeconds(2));
            var answer = sample.Index % 3 == 2 ? "-1" : sample.Answer;
            var score = (sample.Index % 10) / 10.0;
            var result = new SampleAnswer($"<think>\nworking on {sample.Id}\n</think>\n\nSo \\boxed{{{answer}}}.", 100 + sample.Index,
                0.25 * sample.Index, score, Steered: score < 0.5);
            if (Asked.Count >= cancelCount) cancelAfter?.Cancel();
            return result;
        }
    }

    sealed class ManualClock : TimeProvider
    {
        long _ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => _ticks;
        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }

    string Output(string folder) => File.ReadAllText(Path.Combine(folder, ResultsFolder.OutputFile));
    string SummaryText(string folder) => File.ReadAllText(Path.Combine(folder, ResultsFolder.SummaryFile));

    [Test]
    public void WritesOneLinePerSampleAndASummary()
    {
        var runner = new ExperimentRunner(_root);
        var summary = runner.Run(Config(), new FakeSource());
        var folder = runner.FolderFor(Config());
        var records = ResultsFolder.ReadRecords(folder);
        Assert.That(records, Has.Count.EqualTo(23));
        Assert.That(records.Select(r => r.Index), Is.EqualTo(Enumerable.Range(0, 23)));
        Assert.That(records.Where(r => r.Index % 3 != 2).All(r => r.Correct && r.Extracted == BenchmarkCatalog.Load("aime24").Samples[r.Index].Answer));
        Assert.That(records.Where(r => r.Index % 3 == 2).All(r => !r.Correct && r.Extracted == "-1"));
        Assert.That(records[4].GateScore, Is.EqualTo(0.4));
        Assert.That(records[4].Steered, Is.True);
        Assert.That(records[7].Steered, Is.False);
        Assert.That(summary.Finished, Is.EqualTo(23));
        Assert.That(summary.Correct, Is.EqualTo(23 - 7));
        Assert.That(summary.Accuracy, Is.EqualTo(Math.Round(16.0 / 23, 6)));
        Assert.That(summary.MeanTokens, Is.EqualTo(111));
        Assert.That(summary.MeanSeconds, Is.EqualTo(0.25 * 11));
        Assert.That(summary.Steered, Is.EqualTo(records.Count(r => r.Steered == true)));
        Assert.That(summary.Complete, Is.True);
        Assert.That(summary.ConfigHash, Is.EqualTo(Config().Hash));
        Assert.That(ResultsFolder.ReadIdentity(folder)!.ConfigHash, Is.EqualTo(Config().Hash));
    }

    [Test]
    public void ShardsMergeIntoExactlyTheUnshardedRun()
    {
        var whole = new ExperimentRunner(Path.Combine(_root, "whole"));
        whole.Run(Config(), new FakeSource(), new ExperimentRunOptions { Limit = 20 });
        var wholeFolder = whole.FolderFor(Config());

        var sharded = new ExperimentRunner(Path.Combine(_root, "sharded"));
        var sizes = new List<int>();
        for (int i = 1; i <= 3; i++)
            sizes.Add(sharded.Run(Config(), new FakeSource(), new ExperimentRunOptions { Limit = 20, Shard = new Shard(i, 3) }).Finished);
        Assert.That(sizes, Is.EqualTo(new[] { 7, 7, 6 }));
        var runFolder = sharded.FolderFor(Config());
        var merged = ResultsMerger.MergeShardsOf(runFolder);

        Assert.That(Output(runFolder), Is.EqualTo(Output(wholeFolder)));
        Assert.That(SummaryText(runFolder), Is.EqualTo(SummaryText(wholeFolder)));
        Assert.That(merged.Finished, Is.EqualTo(20));
        Assert.That(() => ResultsMerger.MergeShardsOf(runFolder), Throws.TypeOf<IOException>(), "never overwrites merged results");

        // A later unsharded rerun in the merged folder finds everything done.
        var source = new FakeSource();
        sharded.Run(Config(), source, new ExperimentRunOptions { Limit = 20 });
        Assert.That(source.Asked, Is.Empty);
    }

    [Test]
    public void MergeRefusesMissingOrIncompleteShards()
    {
        var runner = new ExperimentRunner(_root);
        runner.Run(Config(), new FakeSource(), new ExperimentRunOptions { Shard = new Shard(1, 2) });
        var runFolder = runner.FolderFor(Config());
        Assert.That(() => ResultsMerger.MergeShardsOf(runFolder), Throws.InstanceOf<InputException>().With.Message.Contains("2/2 missing"));

        using var cts = new CancellationTokenSource();
        Assert.That(() => runner.Run(Config(), new FakeSource(cts, 2), new ExperimentRunOptions { Shard = new Shard(2, 2) }, cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(() => ResultsMerger.MergeShardsOf(runFolder), Throws.InstanceOf<InputException>().With.Message.Contains("incomplete"));
    }

    [Test]
    public void CancelledRunResumesToTheSameOutput()
    {
        var reference = new ExperimentRunner(Path.Combine(_root, "reference"));
        reference.Run(Config(), new FakeSource());

        var runner = new ExperimentRunner(Path.Combine(_root, "interrupted"));
        using var cts = new CancellationTokenSource();
        var first = new FakeSource(cts, cancelCount: 9);
        Assert.That(() => runner.Run(Config(), first, null, cts.Token), Throws.InstanceOf<OperationCanceledException>());
        var folder = runner.FolderFor(Config());
        Assert.That(ResultsFolder.ReadRecords(folder), Has.Count.EqualTo(9));
        var partial = ResultsFolder.ReadSummary(folder);
        Assert.That(partial.Complete, Is.False);
        Assert.That(partial.Finished, Is.EqualTo(9));

        var second = new FakeSource();
        runner.Run(Config(), second);
        Assert.That(second.Asked, Has.Count.EqualTo(14), "finished samples are not asked again");
        Assert.That(Output(folder), Is.EqualTo(Output(reference.FolderFor(Config()))));
        Assert.That(SummaryText(folder), Is.EqualTo(SummaryText(reference.FolderFor(Config()))));
    }

    [Test]
    public void LineCutShortByAKillIsRedone()
    {
        var runner = new ExperimentRunner(_root);
        runner.Run(Config(), new FakeSource());
        var folder = runner.FolderFor(Config());
        var complete = Output(folder);
        var outputPath = Path.Combine(folder, ResultsFolder.OutputFile);

        // Keep 10 whole lines and half of the 11th, as a kill during the write would.
        var lines = complete.Split('\n');
        var cut = string.Join("\n", lines.Take(10)) + "\n" + lines[10][..(lines[10].Length / 2)];
        File.WriteAllText(outputPath, cut);
        Assert.That(ResultsFolder.ReadRecords(folder), Has.Count.EqualTo(10), "the partial line is not a result");

        var source = new FakeSource();
        runner.Run(Config(), source);
        Assert.That(source.Asked, Has.Count.EqualTo(13));
        Assert.That(Output(folder), Is.EqualTo(complete));
    }

    [Test]
    public void CorruptLineInTheMiddleIsAnErrorNotSilentlyDropped()
    {
        var runner = new ExperimentRunner(_root);
        runner.Run(Config(), new FakeSource(), new ExperimentRunOptions { Limit = 5 });
        var path = Path.Combine(runner.FolderFor(Config()), ResultsFolder.OutputFile);
        var lines = File.ReadAllLines(path);
        lines[2] = "{not json";
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        Assert.That(() => runner.Run(Config(), new FakeSource(), new ExperimentRunOptions { Limit = 5 }),
            Throws.InstanceOf<InputException>().With.Message.Contains($"{path}:3: bad result line"));
    }

    [Test]
    public void RefusesToMixResultsOfAnotherConfig()
    {
        var runner = new ExperimentRunner(_root);
        runner.Run(Config(), new FakeSource(), new ExperimentRunOptions { Limit = 3 });
        Assert.That(() => runner.Run(Config(strength: 0.2), new FakeSource(), new ExperimentRunOptions { Limit = 3 }),
            Throws.InstanceOf<InputException>().With.Message.Contains("different run (config hash"));
        Assert.That(() => runner.Run(Config(), new FakeSource(), new ExperimentRunOptions { Limit = 3, Shard = new Shard(1, 2) }),
            Throws.Nothing, "a shard lives in its own subfolder");
    }

    [Test]
    public void LimitExtendsButNeverShrinksARun()
    {
        var runner = new ExperimentRunner(_root);
        Assert.That(runner.Run(Config(), new FakeSource(), new ExperimentRunOptions { Limit = 5 }).Finished, Is.EqualTo(5));
        var source = new FakeSource();
        Assert.That(runner.Run(Config(), source).Finished, Is.EqualTo(23));
        Assert.That(source.Asked, Has.Count.EqualTo(18));
        Assert.That(() => runner.Run(Config(), new FakeSource(), new ExperimentRunOptions { Limit = 3 }),
            Throws.InstanceOf<InputException>().With.Message.Contains("larger --limit"));
    }

    [Test]
    public void ProgressReportsRateAndEta()
    {
        var clock = new ManualClock();
        var reports = new List<ExperimentProgress>();
        var runner = new ExperimentRunner(_root);
        runner.Run(Config(), new FakeSource(clock: clock), new ExperimentRunOptions { Limit = 6, Progress = reports.Add, Clock = clock });
        Assert.That(reports, Has.Count.EqualTo(6));
        Assert.That(reports.Select(p => p.Done), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(reports.All(p => p.Total == 6 && Math.Abs(p.SamplesPerSecond - 0.5) < 1e-9));
        Assert.That(reports[1].Eta, Is.EqualTo(TimeSpan.FromSeconds(8)), "4 left at 2 s each");
        Assert.That(reports[^1].Eta, Is.EqualTo(TimeSpan.Zero));
        Assert.That(reports[^1].Correct, Is.EqualTo(4));
    }

    [Test]
    public void SecondRunnerOnTheSameFolderIsRefused()
    {
        var runner = new ExperimentRunner(_root);
        var gate = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var blocking = new BlockingSource(gate, release);
        var first = Task.Run(() => runner.Run(Config(), blocking, new ExperimentRunOptions { Limit = 2 }));
        Assert.That(gate.Wait(TimeSpan.FromSeconds(30)), "first run did not start");
        try
        {
            Assert.That(() => runner.Run(Config(), new FakeSource(), new ExperimentRunOptions { Limit = 2 }),
                Throws.TypeOf<IOException>().With.Message.Contains("in use by another run"));
        }
        finally { release.Set(); }
        Assert.That(first.Wait(TimeSpan.FromSeconds(30)));
    }

    sealed class BlockingSource(ManualResetEventSlim started, ManualResetEventSlim release) : IAnswerSource
    {
        public SampleAnswer Answer(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken)
        {
            started.Set();
            release.Wait(cancellationToken);
            return new SampleAnswer("</think>\\boxed{0}", 1, 0.1);
        }
    }

    [Test]
    public void CodeRunsAreCheckedInTheSandbox()
    {
        var config = ExperimentConfig.Parse("name: mbpp-fake\nmodel: fake\nsample_path: mbpp\ntask: code\n");
        var runner = new ExperimentRunner(_root);
        var summary = runner.Run(config, new CodeSource(), new ExperimentRunOptions { Limit = 3 });
        var records = ResultsFolder.ReadRecords(runner.FolderFor(config));
        Assert.That(records[0].Correct, Is.True, records[0].Detail);
        Assert.That(records[0].CorrectBase, Is.True);
        // Base and base+plus are separate verdicts: this one passes EvalPlus's base tests, not the plus inputs.
        Assert.That(records[1].Correct, Is.False);
        Assert.That(records[1].CorrectBase, Is.True, records[1].Detail);
        Assert.That(records[1].Detail, Does.Contain("base pass, plus fail"));
        Assert.That(records[2].Correct, Is.False);
        Assert.That(records[2].CorrectBase, Is.False);
        Assert.That(records[2].Detail, Does.Contain("base fail"));
        Assert.That(summary.Correct, Is.EqualTo(1));
        Assert.That(summary.Accuracy, Is.EqualTo(0.333333));
        Assert.That(summary.CorrectBase, Is.EqualTo(2));
        Assert.That(summary.AccuracyBase, Is.EqualTo(0.666667));
        Assert.That(records[0].Steered, Is.Null);
        var folder = runner.FolderFor(config);
        Assert.That(File.ReadAllText(Path.Combine(folder, ResultsFolder.OutputFile)), Does.Contain("\"correct_base\":true"));
        Assert.That(File.ReadAllText(Path.Combine(folder, ResultsFolder.SummaryFile)), Does.Contain("\"correct_base\": 2").And.Contain("\"accuracy_base\": 0.666667"));
        // Math rows and summaries have no base column at all.
        var math = new ResultRecord { Index = 0, Id = "0", Answer = "", Correct = true, Tokens = 1, Seconds = 0 };
        Assert.That(ResultsFolder.Serialize(math), Does.Not.Contain("correct_base"));
    }

    // Mbpp/617 is in the MBPP gate split but not in MBPP+; Mbpp/630's split row names a helper as its entry point.
    [TestCase("Mbpp/617", "min_Jumps", "not a HumanEval+ or MBPP+ task")]
    [TestCase("Mbpp/630", "adjac", "differs from EvalPlus's 'get_coordinates'")]
    public void ACodeSampleEvalPlusCannotScoreIsRefusedBeforeAnythingIsWritten(string taskId, string entryPoint, string why)
    {
        Directory.CreateDirectory(_root);
        var file = Path.Combine(_root, "code.jsonl");
        File.WriteAllText(file, "{\"id\": 1, \"task_id\": \"Mbpp/2\", \"entry_point\": \"similar_elements\", \"question\": \"q\"}\n" +
                                $"{{\"id\": 2, \"task_id\": \"{taskId}\", \"entry_point\": \"{entryPoint}\", \"question\": \"q\"}}\n");
        var config = ExperimentConfig.Parse("name: not-evalplus\nmodel: fake\nsample_path: s\ntask: code\n");
        var runner = new ExperimentRunner(_root);
        var e = Assert.Throws<AdaRas.Files.InputException>(() => runner.Run(config, new CodeSource(),
            new ExperimentRunOptions { Benchmark = BenchmarkFile.Load(file, BenchmarkTask.Code) }))!;
        Assert.That(e.Message, Does.Contain("code.jsonl:2").And.Contain(taskId).And.Contain(why));
        Assert.That(Directory.Exists(runner.FolderFor(config)), Is.False);
    }

    sealed class CodeSource : IAnswerSource
    {
        public SampleAnswer Answer(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken)
        {
            Assert.That(userMessage, Is.EqualTo(sample.Question));
            var code = sample.Index switch
            {
                0 => "def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n",
                1 => "def is_not_prime(n):\n    return n in (1, 10, 35)\n",   // right on the base inputs only
                _ => "def heap_queue_largest(nums, n):\n    return []\n",
            };
            return new SampleAnswer($"<think>\nhmm\n</think>\n```python\n{code}```", 50, 1.0);
        }
    }
}
