using AdaRas.Model;
using System.Text.Json;
using AdaRas.Steering;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Rcn;

namespace AdaRas.Tests.Steering;

[TestFixture]
internal sealed class RcnPatternTests
{
    string _dir = "";

    [SetUp]
    public void MakeDir() => _dir = Directory.CreateTempSubdirectory("adaras-pattern-").FullName;

    [TearDown]
    public void RemoveDir() => Directory.Delete(_dir, recursive: true);

    static IEnumerable<PaperPatterns.Entry> Released => PaperPatterns.All;

    [TestCaseSource(nameof(Released))]
    public void EveryReleasedPatternLoads(PaperPatterns.Entry entry)
    {
        var p = entry.Load();
        Assert.That(p.Count, Is.EqualTo(200));
        Assert.That(p.HasClassMeans, Is.False);
        Assert.That(p.Dialect, Is.EqualTo(entry.FileName == "AIME_Qwen3-1.7B.csv" ? PatternDialect.Paper : PatternDialect.PaperWithDirection));
        Assert.That(p.Neurons.Select(n => n.NeuronId).Distinct().Count(), Is.EqualTo(200));
        Assert.That(p.Neurons.All(n => n.NeuronId == (long)n.Layer * entry.Shape.IntermediateSize + n.Index));
        Assert.That(p.Neurons[0].Line, Is.EqualTo(2));
    }

    [Test]
    public void ReleasedRowsAreReadExactly()
    {
        var aime = PaperPatterns.Find("AIME_Qwen3-1.7B").Load();
        Assert.That(aime.Neurons[0], Is.EqualTo(new PatternNeuron(2, 155792, 25, 2192, 4.9946012f, null, null, null)));
        Assert.That(aime.Neurons[1].Delta, Is.EqualTo(-4.4406147f));
        var big = PaperPatterns.Find("aime_qwen3-4b.csv").Load();
        Assert.That((big.Neurons[0].NeuronId, big.Neurons[0].Layer, big.Neurons[0].Index, big.Neurons[0].Delta),
            Is.EqualTo((340668L, 35, 188, -8.265995f)));
    }

    [Test]
    public void TopKIsTheFirstKRows()
    {
        var p = PaperPatterns.Find("gsm8k_Qwen3-1.7B").Load();
        Assert.That(p.Top(50), Is.EqualTo(p.Neurons.Take(50)));
        Assert.That(p.Top(200), Has.Count.EqualTo(200));
        Assert.Throws<InputException>(() => p.Top(0));
        var e = Assert.Throws<InputException>(() => p.Top(201));
        Assert.That(e!.Message, Does.Contain("gsm8k_Qwen3-1.7B.csv"));
    }

    [Test]
    public void ReleasedPatternDoesNotFitAnotherModelSize()
    {
        var path = PaperPatterns.Find("AIME_Qwen3-4B").Path;
        var e = Assert.Throws<PatternFormatException>(() => RcnPattern.Load(path, ModelShape.Qwen3_1_7B));
        Assert.That(e!.Message, Does.Contain("AIME_Qwen3-4B.csv:2:").And.Contain("layer 35 is out of range"));
    }

    const string Header = "overall_neuron_index,layer,neuron_index_in_layer,weight,abs_weight";
    static readonly ModelShape Small = new(4, 10);

    string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    static readonly object[] BadFiles =
    [
        new object[] { new[] { "neuron,layer,index,weight,abs" }, 1, "unrecognised header" },
        new object[] { new[] { Header }, 2, "no neurons" },
        new object[] { new[] { Header, "13,1,2,0.5,0.5" }, 2, "overall_neuron_index 13 != layer * 10 + index = 12" },
        new object[] { new[] { Header, "3,0,3,1,1", "45,4,5,0.5,0.5" }, 3, "layer 4 is out of range" },
        new object[] { new[] { Header, "10,0,10,0.5,0.5" }, 2, "neuron_index_in_layer 10 is out of range" },
        new object[] { new[] { Header, "-1,0,-1,0.5,0.5" }, 2, "neuron_index_in_layer -1 is out of range" },
        new object[] { new[] { Header, "3,0,3,0.5,0.25" }, 2, "abs_weight 0.25 is not |weight|" },
        new object[] { new[] { Header, "3,0,3,0.5" }, 2, "4 fields, the header has 5" },
        new object[] { new[] { Header, "3,0,3,half,0.5" }, 2, "weight 'half' is not a number" },
        new object[] { new[] { Header, "3,0,3,NaN,NaN" }, 2, "weight is NaN; values must be finite" },
        new object[] { new[] { Header, "3,0,x,1,1" }, 2, "neuron_index_in_layer 'x' is not an integer" },
        new object[] { new[] { Header, "3,0,3,1,1", "", "3,0,3,-2,2" }, 4, "neuron 3 is listed twice (first on line 2)" },
        new object[] { new[] { Header + ",useless", "3,0,3,1,1,predicts_bad" }, 2, "contradicts the sign of weight 1" },
        new object[] { new[] { Header + ",useless", "3,0,3,1,1,maybe" }, 2, "expected 'predicts_good' or 'predicts_bad'" },
        new object[] { new[] { Header + ",useless,good_avg,bad_avg,relative", "3,0,3,1,1,predicts_good,2,0.5,0.5" }, 2, "weight 1 is not good_avg - bad_avg = 1.5" },
        new object[] { new[] { Header + ",useless,good_avg,bad_avg,relative", "3,0,3,1,1,predicts_good,2,1,1.5" }, 2, "relative 1.5 is outside [0, 1]" },
        new object[] { new[] { Header, "\"3\",0,3,1,1" }, 2, "quoted CSV fields" },
    ];

    [TestCaseSource(nameof(BadFiles))]
    public void MalformedPatternsNameTheFileAndLine(string[] lines, int line, string message)
    {
        var path = Write("bad.csv", lines);
        var e = Assert.Throws<PatternFormatException>(() => RcnPattern.Load(path, Small));
        Assert.That(e!.Line, Is.EqualTo(line));
        Assert.That(e.Message, Does.StartWith($"{path}:{line}: ").And.Contain(message));
    }

    [Test]
    public void WindowsLineEndingsAndABomAreAccepted()
    {
        var path = Path.Combine(_dir, "crlf.csv");
        File.WriteAllText(path, Header + ",useless\r\n3,0,3,-1.5,1.5,predicts_bad\r\n14,1,4,0,0,predicts_good\r\n",
            new System.Text.UTF8Encoding(true));
        var p = RcnPattern.Load(path, Small);
        Assert.That(p.Neurons.Select(n => (n.NeuronId, n.Delta)), Is.EqualTo(new[] { (3L, -1.5f), (14L, 0f) }));
    }

    [Test]
    public void MissingFileIsNamed()
    {
        var path = Path.Combine(_dir, "nope.csv");
        var e = Assert.Throws<PatternFormatException>(() => RcnPattern.Load(path, Small));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("not found"));
    }

    static IReadOnlyList<RankedNeuron> Ranking() =>
    [
        new(1, 17, 1, 7, 1.5f, -0.5f, 2f, 1f),
        new(2, 3, 0, 3, -0.25f, 0.5f, -0.75f, 1f),
        new(3, 38, 3, 8, 4f, 2f, 2f, 0.33333334f),
        new(4, 20, 2, 0, 0f, 0f, 0f, 0f),
    ];

    PatternSidecar Sidecar(int top = 4, string? modelId = "qwen3-4x10-abc") => new()
    {
        ModelId = modelId,
        ModelName = "tiny",
        Layers = 4,
        IntermediateSize = 10,
        DatasetName = "gsm8k",
        DatasetPath = "data/gsm8k.jsonl",
        CorrectTrajectories = 60,
        IncorrectTrajectories = 60,
        CorrectTokens = 12345,
        IncorrectTokens = 23456,
        Top = top,
        Created = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero),
    };

    [Test]
    public void OurPatternRoundTripsWithItsSidecar()
    {
        var path = Path.Combine(_dir, "gsm8k.csv");
        RcnPattern.Write(path, Ranking(), Sidecar());

        var lines = File.ReadAllLines(path);
        Assert.That(lines[0], Is.EqualTo(Header + ",useless,good_avg,bad_avg,relative"));
        Assert.That(lines[1], Is.EqualTo("17,1,7,2,2,predicts_good,1.5,-0.5,1"));
        Assert.That(lines[2], Is.EqualTo("3,0,3,-0.75,0.75,predicts_bad,-0.25,0.5,1"));

        var p = RcnPattern.Load(path, Small with { ModelId = "qwen3-4x10-abc" });
        Assert.That(p.Dialect, Is.EqualTo(PatternDialect.AdaRas));
        Assert.That(p.HasClassMeans, Is.True);
        Assert.That(p.Neurons.Select(n => (n.NeuronId, n.Layer, n.Index, n.Delta, n.MuPlus, n.MuMinus, n.Relative)),
            Is.EqualTo(Ranking().Select(n => (n.NeuronId, n.Layer, n.Index, n.Delta, (float?)n.MuPlus, (float?)n.MuMinus, (float?)n.Relative))));
        Assert.That(p.Sidecar, Is.EqualTo(Sidecar()));

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "gsm8k.json")));
        Assert.That(json.RootElement.GetProperty("model_id").GetString(), Is.EqualTo("qwen3-4x10-abc"));
        Assert.That(json.RootElement.GetProperty("intermediate_size").GetInt32(), Is.EqualTo(10));
        Assert.That(json.RootElement.GetProperty("correct_tokens").GetInt64(), Is.EqualTo(12345));
    }

    [Test]
    public void IdentifiedRankingIsWrittenAndLoadedBackInRankOrder()
    {
        var shape = new ModelShape(3, 50, "qwen3-3x50-test");
        using var stats = new NeuronStatistics(SteeringTestDevice.Cpu, 3, 50);
        var rng = new Random(51);
        for (int t = 0; t < 8; t++)
            stats.AddTrajectorySum($"t{t}", t % 3 != 0, Enumerable.Range(0, 150).Select(_ => (float)(rng.NextDouble() * 20 - 8)).ToArray(), 10 + t);
        var ranked = stats.Rank(25);
        var path = Path.Combine(_dir, "identified.csv");
        RcnPattern.Write(path, ranked, PatternSidecar.Create(shape, stats.Counts, 25, "synthetic", modelName: "test"));

        var p = RcnPattern.Load(path, shape);
        Assert.That(p.Neurons.Select(n => n.NeuronId), Is.EqualTo(ranked.Select(n => n.NeuronId)));
        Assert.That(p.Neurons.Select(n => (n.Delta, n.MuPlus, n.MuMinus, n.Relative)),
            Is.EqualTo(ranked.Select(n => (n.Delta, (float?)n.MuPlus, (float?)n.MuMinus, (float?)n.Relative))));
        Assert.That(p.Sidecar!.CorrectTrajectories + p.Sidecar.IncorrectTrajectories, Is.EqualTo(8));
        Assert.That(p.Sidecar.CorrectTokens + p.Sidecar.IncorrectTokens, Is.EqualTo(Enumerable.Range(10, 8).Sum()));
        Assert.That(p.Sidecar.ModelId, Is.EqualTo("qwen3-3x50-test"));
    }

    [Test]
    public void WritingNeverSilentlyOverwrites()
    {
        var path = Path.Combine(_dir, "p.csv");
        RcnPattern.Write(path, Ranking(), Sidecar());
        Assert.Throws<IOException>(() => RcnPattern.Write(path, Ranking(), Sidecar()));
        RcnPattern.Write(path, Ranking().Take(2).ToList(), Sidecar(top: 2), overwrite: true);
        Assert.That(RcnPattern.Load(path, Small).Count, Is.EqualTo(2));
        Assert.Throws<ArgumentException>(() => RcnPattern.Write(path, Ranking(), Sidecar(top: 3), overwrite: true));
    }

    [Test]
    public void SidecarIsCheckedAgainstTheModel()
    {
        var path = Path.Combine(_dir, "p.csv");
        RcnPattern.Write(path, Ranking(), Sidecar());
        var sidecar = Path.Combine(_dir, "p.json");

        var other = Assert.Throws<PatternFormatException>(() => RcnPattern.Load(path, Small with { ModelId = "qwen3-4x10-def" }));
        Assert.That(other!.Message, Does.StartWith(sidecar).And.Contain("qwen3-4x10-abc").And.Contain("qwen3-4x10-def"));

        var size = Assert.Throws<PatternFormatException>(() => RcnPattern.Load(path, new ModelShape(4, 12)));
        Assert.That(size!.Message, Does.StartWith(sidecar).And.Contain("4 layers x 10 neurons"));

        // A model without a known identity still gets the size check only.
        Assert.That(RcnPattern.Load(path, Small).Count, Is.EqualTo(4));

        File.WriteAllText(sidecar, Sidecar(top: 5).ToJson());
        var top = Assert.Throws<PatternFormatException>(() => RcnPattern.Load(path, Small));
        Assert.That(top!.Message, Does.Contain("top = 5").And.Contain("4 rows"));

        File.WriteAllText(sidecar, "{ not json");
        Assert.That(Assert.Throws<PatternFormatException>(() => RcnPattern.Load(path, Small))!.Message, Does.StartWith(sidecar));
    }

    [Test]
    public void MethodsNeedingMuPlusRefusePaperFiles()
    {
        var p = PaperPatterns.Find("HumanEval_Qwen3-1.7B").Load();
        var e = Assert.Throws<PatternFormatException>(() => p.RequireClassMeans("linear_blend"));
        Assert.That(e!.Message, Does.Contain("HumanEval_Qwen3-1.7B.csv").And.Contain("linear_blend needs mu+").And.Contain("steering_add"));
    }
}
