using AdaRas.Model;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Rcn;
using AdaRas.Tests.Reference;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Steering;

/// <summary>RCN identification through the ONNX engine against a naive computation on the managed reference forward.</summary>
public sealed class RcnIdentifierTests
{
    static readonly CheckpointShape Shape = CheckpointShapes.Tiny;
    AdaRas.Engine.LanguageModel _model = null!;
    ReferenceModel _reference = null!;

    [OneTimeSetUp]
    public void Load()
    {
        _model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(Shape));
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(Shape));
        _reference = ReferenceModel.Load(checkpoint);
    }

    [OneTimeTearDown]
    public void Unload() => _model.Dispose();

    static string NewDir(string name)
    {
        var dir = TestCheckpoints.NewFolder(name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Mean over positions of the reference's MLP intermediate, in double, over one forward of the whole text.</summary>
    double[] ReferenceMean(int[] ids)
    {
        var session = _reference.NewSession();
        session.Forward(ids);
        var acts = session.LastMlpActivations; // [layer][position][I]
        var mean = new double[Shape.Layers * Shape.Intermediate];
        for (int l = 0; l < Shape.Layers; l++)
            for (int t = 0; t < ids.Length; t++)
                for (int i = 0; i < Shape.Intermediate; i++)
                    mean[l * Shape.Intermediate + i] += acts[l][t][i] / (double)ids.Length;
        return mean;
    }

    [Test]
    public void Identification_EqualsTheNaiveComputationOnTheReferenceForward()
    {
        var dir = NewDir("rcn-identify");
        var rows = SyntheticTrajectories.Make(perClass: 3);
        var data = SyntheticTrajectories.Write(Path.Combine(dir, "set.jsonl"), rows);
        int n = Shape.Layers * Shape.Intermediate;
        var patternPath = Path.Combine(dir, "pattern.csv");
        var probe = new RcnIdentifier(_model, chunkSize: 16);
        var result = probe.Identify(ContrastiveSet.Load(data), patternPath, new IdentifyOptions { Top = n }, SteeringTestDevice.Cpu);

        // Naive: per-trajectory means, class means, delta, r (in double, for the values), and the ranking with the
        // method's float32 arithmetic (as the paper's code): near r = 1, where the sign flips, r is 1 - O(1e-8 / |mu|),
        // and its float rounding, not its real value, decides the order among those neurons.
        var plus = new double[n];
        var minus = new double[n];
        var classSums = new ReferenceRcn.Accumulator(n);
        long tokens = 0;
        foreach (var row in rows)
        {
            var ids = _model.Tokenizer.Encode(SyntheticTrajectories.Text(row));
            Assert.That(ids.Length, Is.GreaterThan(16), "several chunks per trajectory");
            tokens += ids.Length;
            var mean = ReferenceMean(ids);
            var target = (bool)row.IsGood ? plus : minus;
            for (int i = 0; i < n; i++) target[i] += mean[i] / 3;
            classSums.AddMean(mean.Select(v => (float)v).ToArray(), (bool)row.IsGood);
        }
        var delta = plus.Zip(minus, (p, m) => p - m).ToArray();
        var r = Enumerable.Range(0, n).Select(i => Math.Abs(delta[i]) / (Math.Abs(plus[i]) + Math.Abs(minus[i]) + 1e-8)).ToArray();
        var inFloat = ReferenceRcn.Contrast(classSums);
        var order = ReferenceRcn.RankOrder(inFloat.Relative, inFloat.Delta);
        Assert.That(r.Count(x => x > 0.9999), Is.GreaterThan(10), "many sign flips: the float rounding of r matters");

        var pattern = RcnPattern.Load(patternPath, ModelShape.FromManifest(_model.Manifest));
        Assert.That(pattern.Dialect, Is.EqualTo(PatternDialect.AdaRas));
        Assert.That(pattern.Neurons.Select(x => (int)x.NeuronId), Is.EqualTo(order), "same ranking of every neuron");
        Assert.Multiple(() =>
        {
            foreach (var x in pattern.Neurons)
            {
                int i = (int)x.NeuronId;
                Assert.That(x.MuPlus!.Value, Is.EqualTo(plus[i]).Within(1e-5), $"mu+ of {i}");
                Assert.That(x.MuMinus!.Value, Is.EqualTo(minus[i]).Within(1e-5), $"mu- of {i}");
                Assert.That(x.Delta, Is.EqualTo(delta[i]).Within(1e-5), $"delta of {i}");
                Assert.That(x.Relative!.Value, Is.EqualTo(r[i]).Within(1e-5), $"r of {i}");
            }
        });
        Assert.That(result.Sidecar.ModelId, Is.EqualTo(_model.Manifest.ModelId));
        Assert.That((result.Sidecar.CorrectTrajectories, result.Sidecar.IncorrectTrajectories), Is.EqualTo((3, 3)));
        Assert.That(result.Sidecar.CorrectTokens + result.Sidecar.IncorrectTokens, Is.EqualTo(tokens));
        Assert.That(result.Sidecar.DatasetName, Is.EqualTo("set"));
        Assert.That((result.Computed, result.FromCache, result.TokensComputed), Is.EqualTo((6, 0, tokens)));
    }

    [Test]
    public void ChunkedTeacherForcing_GivesTheSameMeansAsOnePass()
    {
        // A trajectory of most of the tiny model's context, run in chunks of 7 (through the KV cache) and in one call.
        var text = "Question: How far is it?\nThinking process:" + string.Concat(Enumerable.Range(0, 18).Select(i => $" step {i}: add {i * 7 % 13}."));
        var ids = _model.Tokenizer.Encode(text);
        Assert.That(ids.Length, Is.InRange(150, _model.Manifest.ContextLength), "most of the tiny model's context");
        var chunked = new RcnIdentifier(_model, chunkSize: 7).Run(ids);
        var onePass = new RcnIdentifier(_model, chunkSize: 4096).Run(ids);
        Assert.That(chunked.Tokens, Is.EqualTo(ids.Length));
        Assert.That(Compare.RelativeError(chunked.Mean(), onePass.Mean()), Is.LessThan(1e-5));
        var reference = ReferenceMean(ids).Select(v => (float)v).ToArray();
        Assert.That(Compare.RelativeError(chunked.Mean(), reference), Is.LessThan(1e-4), "and both are the reference's mean");
    }

    [Test]
    public void Progress_CountsTrajectoriesAndTokens_AndEndsWithAnEtaOfZero()
    {
        var dir = NewDir("rcn-progress");
        var data = SyntheticTrajectories.Write(Path.Combine(dir, "set.jsonl"), SyntheticTrajectories.Make(perClass: 2));
        var reports = new List<IdentifyProgress>();
        var result = new RcnIdentifier(_model, 8).Identify(ContrastiveSet.Load(data), Path.Combine(dir, "p.csv"),
            new IdentifyOptions { Top = 10 }, SteeringTestDevice.Cpu, new SyncProgress<IdentifyProgress>(reports.Add));
        Assert.That(reports[0].Done, Is.EqualTo(0));
        Assert.That(reports[^1], Is.EqualTo(reports[^1] with { Done = 4, Total = 4, FromCache = 0, TokensComputed = result.TokensComputed, TokensToCompute = result.TokensComputed }));
        Assert.That(reports[^1].Eta, Is.EqualTo(TimeSpan.Zero));
        Assert.That(reports.Count, Is.GreaterThan(4 + 4), "reports after chunks, not only after trajectories");
        Assert.That(reports.Select(p => p.TokensComputed), Is.Ordered);
        Assert.That(reports.Where(p => p.TokensComputed > 0).All(p => p.TokensPerSecond > 0 && p.Eta is not null));
        Assert.That(reports[^1].ToString(), Does.Contain("4/4 trajectories").And.Contain("tok/s").And.Contain("ETA 00:00:00"));
    }

    [Test]
    public void AnExistingPattern_IsNotOverwritten_BeforeAnyWork()
    {
        var dir = NewDir("rcn-exists");
        var data = SyntheticTrajectories.Write(Path.Combine(dir, "set.jsonl"), SyntheticTrajectories.Make(perClass: 1));
        var patternPath = Path.Combine(dir, "p.csv");
        File.WriteAllText(patternPath, "keep me");
        var probe = new RcnIdentifier(_model, 64);
        var e = Assert.Throws<IOException>(() => probe.Identify(ContrastiveSet.Load(data), patternPath, new IdentifyOptions { Top = 5 }, SteeringTestDevice.Cpu));
        Assert.That(e!.Message, Does.Contain(patternPath));
        Assert.That(File.ReadAllText(patternPath), Is.EqualTo("keep me"));
        Assert.That(Directory.Exists(TrajectoryCache.FolderFor(patternPath)), Is.False, "nothing was computed");

        probe.Identify(ContrastiveSet.Load(data), patternPath, new IdentifyOptions { Top = 5, Overwrite = true }, SteeringTestDevice.Cpu);
        Assert.That(RcnPattern.Load(patternPath, ModelShape.FromManifest(_model.Manifest)).Count, Is.EqualTo(5));
    }

    [Test]
    public void Interrupted_ThenResumed_WritesTheSamePattern_AndChangedRowsAreRecomputed()
    {
        var dir = NewDir("rcn-resume");
        var rows = SyntheticTrajectories.Make(perClass: 3);
        var data = SyntheticTrajectories.Write(Path.Combine(dir, "set.jsonl"), rows);
        var options = new IdentifyOptions { Top = 50 };
        var probe = new RcnIdentifier(_model, 16);

        var uninterrupted = Path.Combine(dir, "whole.csv");
        probe.Identify(ContrastiveSet.Load(data), uninterrupted, options, SteeringTestDevice.Cpu);

        // Cancel once two trajectories are finished.
        var resumed = Path.Combine(dir, "resumed.csv");
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => probe.Identify(ContrastiveSet.Load(data), resumed, options, SteeringTestDevice.Cpu,
            new SyncProgress<IdentifyProgress>(p => { if (p.Done == 2) cancel.Cancel(); }), cancel.Token));
        Assert.That(File.Exists(resumed), Is.False, "no pattern from an interrupted run");
        Assert.That(Directory.GetFiles(TrajectoryCache.FolderFor(resumed), "*.bin"), Has.Length.EqualTo(2));

        var second = probe.Identify(ContrastiveSet.Load(data), resumed, options, SteeringTestDevice.Cpu);
        Assert.That((second.FromCache, second.Computed), Is.EqualTo((2, 4)));
        Assert.That(File.ReadAllText(resumed), Is.EqualTo(File.ReadAllText(uninterrupted)), "identical pattern");

        // A rerun takes everything from the cache; a changed text invalidates only its own entry; a label is not part of the key.
        var third = probe.Identify(ContrastiveSet.Load(data), resumed, options with { Overwrite = true }, SteeringTestDevice.Cpu);
        Assert.That((third.FromCache, third.Computed), Is.EqualTo((6, 0)));
        Assert.That(File.ReadAllText(resumed), Is.EqualTo(File.ReadAllText(uninterrupted)));

        rows[4] = rows[4] with { Thinking = rows[4].Thinking + " Wait, let me check once more." };
        rows[1] = rows[1] with { IsGood = "True" }; // incorrect -> correct (as the paper's string)
        SyntheticTrajectories.Write(data, rows);
        var fourth = probe.Identify(ContrastiveSet.Load(data), resumed, options with { Overwrite = true }, SteeringTestDevice.Cpu);
        Assert.That((fourth.FromCache, fourth.Computed), Is.EqualTo((5, 1)));
        Assert.That((fourth.Sidecar.CorrectTrajectories, fourth.Sidecar.IncorrectTrajectories), Is.EqualTo((4, 2)));
        Assert.That(File.ReadAllText(resumed), Is.Not.EqualTo(File.ReadAllText(uninterrupted)));

        // Checked against a fresh run of the changed file, without any cache.
        var fresh = Path.Combine(dir, "fresh.csv");
        probe.Identify(ContrastiveSet.Load(data), fresh, options, SteeringTestDevice.Cpu);
        Assert.That(File.ReadAllText(resumed), Is.EqualTo(File.ReadAllText(fresh)));
    }

    [Test]
    public void CacheEntries_OfAnotherModel_AreNotReused()
    {
        var dir = NewDir("rcn-cache-model");
        var data = SyntheticTrajectories.Write(Path.Combine(dir, "set.jsonl"), SyntheticTrajectories.Make(perClass: 1));
        var cacheFolder = Path.Combine(dir, "shared-cache");
        var options = new IdentifyOptions { Top = 5, CacheFolder = cacheFolder };
        var first = new RcnIdentifier(_model, 64).Identify(ContrastiveSet.Load(data), Path.Combine(dir, "a.csv"), options, SteeringTestDevice.Cpu);
        Assert.That(first.Computed, Is.EqualTo(2));

        // Same shape, other weights (seed 2): another model id, so every entry is a miss.
        using var other = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(Shape, seed: 2));
        Assert.That(other.Manifest.ModelId, Is.Not.EqualTo(_model.Manifest.ModelId));
        var second = new RcnIdentifier(other, 64).Identify(ContrastiveSet.Load(data), Path.Combine(dir, "b.csv"), options, SteeringTestDevice.Cpu);
        Assert.That((second.FromCache, second.Computed), Is.EqualTo((0, 2)));

        // A truncated entry is a miss too (recomputed and replaced), never an error.
        var entry = Directory.GetFiles(cacheFolder, "*.bin")[0];
        File.WriteAllBytes(entry, File.ReadAllBytes(entry)[..100]);
        var third = new RcnIdentifier(other, 64).Identify(ContrastiveSet.Load(data), Path.Combine(dir, "b.csv"), options with { Overwrite = true }, SteeringTestDevice.Cpu);
        Assert.That((third.FromCache, third.Computed), Is.EqualTo((1, 1)));
    }

    [Test]
    public void ATrajectoryLongerThanTheContext_IsRefusedWithItsLine()
    {
        var dir = NewDir("rcn-long");
        var rows = SyntheticTrajectories.Make(perClass: 1);
        rows.Add(new SyntheticTrajectories.Row(9, 9, "long?", string.Concat(Enumerable.Repeat(" word", 400)), false));
        var data = SyntheticTrajectories.Write(Path.Combine(dir, "set.jsonl"), rows);
        var e = Assert.Throws<JsonLinesException>(() =>
            new RcnIdentifier(_model, 64).Identify(ContrastiveSet.Load(data), Path.Combine(dir, "p.csv"), new IdentifyOptions { Top = 5 }, SteeringTestDevice.Cpu));
        Assert.That(e!.Message, Does.StartWith($"{data}:3:").And.Contain("longer than the model's context of 256"));
    }

    [Test]
    public void NonFiniteActivations_AreReportedWithTheTrajectory_NotAveraged()
    {
        var dir = NewDir("rcn-nan");
        var rows = SyntheticTrajectories.Make(perClass: 2);
        rows.Insert(2, new SyntheticTrajectories.Row(7, 0, "What is 5 * 5?", "\nIt is 25. Also, zyzzyva qoph.", true));
        var data = SyntheticTrajectories.Write(Path.Combine(dir, "set.jsonl"), rows);

        // A copy of the tiny checkpoint whose embedding row of a token used by only that trajectory is +infinity:
        // RMSNorm turns it into NaN, which reaches the MLP at that position and every later one through attention.
        var tokenizer = _model.Tokenizer;
        var others = rows.Where(r => !Equals(r.Id, 7)).SelectMany(r => tokenizer.Encode(SyntheticTrajectories.Text(r))).ToHashSet();
        int poisoned = tokenizer.Encode(SyntheticTrajectories.Text(rows[2])).First(id => !others.Contains(id));
        var checkpointFolder = TestCheckpoints.CopyOf(Shape);
        using (var source = Checkpoint.Open(TestCheckpoints.Folder(Shape)))
        {
            var tensors = Qwen3Weights.Expected(source.Config).Select(t =>
            {
                var values = source.ReadFloat32(t.Name);
                if (t.Name == Qwen3Weights.Embedding) values.AsSpan(poisoned * Shape.Hidden, Shape.Hidden).Fill(float.PositiveInfinity);
                return TensorData.FromFloat32(t.Name, TensorDType.F32, t.Shape, values);
            }).ToList();
            SafeTensorsWriter.Write(Path.Combine(checkpointFolder, Checkpoint.SingleWeightsFile), tensors);
        }
        var exported = TestCheckpoints.NewFolder("export-poisoned");
        AdaRas.Export.Qwen3Exporter.Export(checkpointFolder, exported, new AdaRas.Export.ExportOptions { Steerable = true });
        using var model = AdaRas.Engine.LanguageModel.Load(exported);
        var probe = new RcnIdentifier(model, 16);
        Assert.That(probe.Run(SyntheticTrajectories.Text(rows[2])).Sum.Any(float.IsNaN), "the engine produces NaN for that trajectory");

        var patternPath = Path.Combine(dir, "p.csv");
        var e = Assert.Throws<NonFiniteActivationException>(() =>
            probe.Identify(ContrastiveSet.Load(data), patternPath, new IdentifyOptions { Top = 5 }, SteeringTestDevice.Cpu));
        Assert.That(e!.TrajectoryId, Is.EqualTo($"id=7 _id=0 ({data}:3)"));
        Assert.That(e.Message, Does.Contain("non-finite activation").And.Contain("layer 0"));
        Assert.That(e.Layers, Is.EqualTo(new[] { 0, 1 }));
        Assert.That(File.Exists(patternPath), Is.False, "no pattern is written");
        Assert.That(Directory.GetFiles(TrajectoryCache.FolderFor(patternPath)).Select(Path.GetFileName), Is.EquivalentTo(new[] { "0_0.bin", "1_0.bin" }),
            "the two trajectories before it are cached, the poisoned one is not");

        // Without it, the same model identifies neurons from the other four (two from the cache).
        rows.RemoveAt(2);
        SyntheticTrajectories.Write(data, rows);
        var result = probe.Identify(ContrastiveSet.Load(data), patternPath, new IdentifyOptions { Top = 5 }, SteeringTestDevice.Cpu);
        Assert.That((result.FromCache, result.Computed), Is.EqualTo((2, 2)));
    }

    /// <summary>Reports synchronously on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
