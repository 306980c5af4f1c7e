using AdaRas.Model;
using AdaRas.Steering;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Plans;
using AdaRas.Steering.Rcn;

namespace AdaRas.Tests.Steering;

[TestFixture]
public sealed class SteeringPlanTests
{
    const int Layers = 3;
    const int I = 40;
    static readonly ModelShape Shape = new(Layers, I);

    string _dir = "";
    RcnPattern _pattern = null!;

    /// <summary>mu+ values that stress softplus: large, very negative, zero, tiny, around the series cut-over.</summary>
    static readonly float[] HardMuPlus = [0f, 1e-6f, -1e-6f, 30f, 100f, -30f, -100f, 9.21f, -9.21f, 9.22f, -9.22f, 0.5f, -0.5f, 88f, -88f];

    [OneTimeSetUp]
    public void WritePattern()
    {
        _dir = Directory.CreateTempSubdirectory("adaras-plan-").FullName;
        var rng = new Random(31);
        var ids = Enumerable.Range(0, Layers * I).OrderBy(_ => rng.Next()).Take(60).ToArray();
        var ranked = ids.Select((id, k) =>
        {
            float plus = k < HardMuPlus.Length ? HardMuPlus[k] : (float)(rng.NextDouble() * 10 - 5);
            float minus = (float)(rng.NextDouble() * 10 - 5);
            float delta = plus - minus;
            return new RankedNeuron(k + 1, id, id / I, id % I, plus, minus, delta,
                Math.Abs(delta) / (Math.Abs(plus) + Math.Abs(minus) + 1e-8f));
        }).ToList();
        var path = Path.Combine(_dir, "random.csv");
        RcnPattern.Write(path, ranked, new PatternSidecar
        {
            Layers = Layers, IntermediateSize = I, DatasetName = "random", CorrectTrajectories = 1, IncorrectTrajectories = 1,
            CorrectTokens = 1, IncorrectTokens = 1, Top = ranked.Count, Created = DateTimeOffset.UnixEpoch,
        });
        _pattern = RcnPattern.Load(path, Shape);
    }

    [OneTimeTearDown]
    public void RemoveDir() => Directory.Delete(_dir, recursive: true);

    static SteeringBuffers NewBuffers() => new(SteeringTestDevice.Cpu, Layers, I);

    static (float[] Scale, float[] Shift) Reference(RcnPattern pattern, int k, SteeringMethod method, float alpha)
    {
        var top = pattern.Top(k);
        return ReferenceRcn.Scatter(pattern.Shape.Layers * pattern.Shape.IntermediateSize,
            top.Select(n => (int)n.NeuronId).ToArray(), top.Select(n => n.Delta).ToArray(),
            top.Select(n => n.MuPlus ?? float.NaN).ToArray(), (int)method, alpha);
    }

    [TestCase(SteeringMethod.SteeringAdd, 0.3f, 50)]
    [TestCase(SteeringMethod.SteeringAdd, -1.25f, 60)]
    [TestCase(SteeringMethod.LinearBlend, 0.2f, 50)]
    [TestCase(SteeringMethod.LinearBlend, 1f, 7)]
    [TestCase(SteeringMethod.SoftplusAdd, 0.1f, 60)]
    [TestCase(SteeringMethod.SoftplusAdd, 0.3f, 1)]
    public void ScatterEqualsReference(SteeringMethod method, float alpha, int k)
    {
        using var buffers = NewBuffers();
        using var plan = SteeringPlan.Create(buffers, _pattern, k, alpha, method);
        var (scale, shift) = Reference(_pattern, k, method, alpha);
        Assert.That(buffers.ScaleToHost(), Is.EqualTo(scale));
        if (method == SteeringMethod.SoftplusAdd)
            Assert.That(buffers.ShiftToHost(), Is.EqualTo(shift).Within(1).Ulps);
        else
            Assert.That(buffers.ShiftToHost(), Is.EqualTo(shift));
        Assert.That(plan.Selected, Has.Count.EqualTo(k));
        Assert.That(plan.Alpha, Is.EqualTo(alpha));
    }

    [Test]
    public void SoftplusIsStableAtTheExtremes()
    {
        using var buffers = NewBuffers();
        using var plan = SteeringPlan.Create(buffers, _pattern, HardMuPlus.Length, 1f, SteeringMethod.SoftplusAdd);
        var shift = buffers.ShiftToHost();
        var top = _pattern.Top(HardMuPlus.Length);
        Assert.Multiple(() =>
        {
            foreach (var n in top)
            {
                double x = n.MuPlus!.Value;
                // Closed forms accurate in double: log(1 + e^x) directly where it is, else x + log(1 + e^-x) or the series.
                double want = x >= 0 ? x + Math.Log(1 + Math.Exp(-x))
                    : x > -5 ? Math.Log(1 + Math.Exp(x))
                    : Math.Exp(x) * (1 - Math.Exp(x) / 2 + Math.Exp(2 * x) / 3);
                double tolerance = want < 1e-30 ? 1e-44 : 1e-6 * want;
                Assert.That((double)shift[n.NeuronId], Is.EqualTo(want).Within(tolerance), $"softplus({x})");
                Assert.That(float.IsFinite(shift[n.NeuronId]) && shift[n.NeuronId] > 0, $"softplus({x}) must be finite and positive");
            }
        });
    }

    [Test]
    public void ChangingAlphaRewritesOnlyTheSelection()
    {
        using var buffers = NewBuffers();
        using var plan = SteeringPlan.Create(buffers, _pattern, 30, 0.1f, SteeringMethod.LinearBlend);
        plan.SetAlpha(0.25f);
        var (scale, shift) = Reference(_pattern, 30, SteeringMethod.LinearBlend, 0.25f);
        Assert.That(buffers.ScaleToHost(), Is.EqualTo(scale));
        Assert.That(buffers.ShiftToHost(), Is.EqualTo(shift));
        Assert.That(plan.Alpha, Is.EqualTo(0.25f));
    }

    [Test]
    public void UnselectedNeuronsKeepTheIdentityMap()
    {
        using var buffers = NewBuffers();
        using var plan = SteeringPlan.Create(buffers, _pattern, 10, 0.3f, SteeringMethod.LinearBlend);
        var selected = plan.Selected.Select(n => (int)n.NeuronId).ToHashSet();
        var scale = buffers.ScaleToHost();
        var shift = buffers.ShiftToHost();
        for (int i = 0; i < Layers * I; i++)
            if (!selected.Contains(i))
                Assert.That((scale[i], shift[i]), Is.EqualTo((1f, 0f)), $"neuron {i}");
        Assert.That(selected.Count(i => scale[i] == 0.7f), Is.EqualTo(10));
    }

    [Test]
    public void ANewPlanOnTheSameBuffersStartsFromIdentity()
    {
        using var buffers = NewBuffers();
        using (SteeringPlan.Create(buffers, _pattern, 60, 0.5f, SteeringMethod.LinearBlend)) { }
        using var second = SteeringPlan.Create(buffers, _pattern, 5, 0.3f, SteeringMethod.SteeringAdd);
        var (scale, shift) = Reference(_pattern, 5, SteeringMethod.SteeringAdd, 0.3f);
        Assert.That(buffers.ScaleToHost(), Is.EqualTo(scale));
        Assert.That(buffers.ShiftToHost(), Is.EqualTo(shift));
    }

    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    [TestCase(float.NegativeInfinity)]
    public void AlphaMustBeFinite(float alpha)
    {
        using var buffers = NewBuffers();
        Assert.Throws<AdaRas.Files.UsageException>(() => SteeringPlan.Create(buffers, _pattern, 5, alpha, SteeringMethod.SteeringAdd));
        using var plan = SteeringPlan.Create(buffers, _pattern, 5, 0.2f, SteeringMethod.SteeringAdd);
        Assert.Throws<AdaRas.Files.UsageException>(() => plan.SetAlpha(alpha));
        Assert.That(plan.Alpha, Is.EqualTo(0.2f));
    }

    [TestCase(0)]
    [TestCase(-3)]
    [TestCase(61)]
    public void NeuronCountMustBeWithinThePattern(int k)
    {
        using var buffers = NewBuffers();
        var e = Assert.Throws<AdaRas.Files.InputException>(() => SteeringPlan.Create(buffers, _pattern, k, 0.2f, SteeringMethod.SteeringAdd));
        Assert.That(e!.Message, Does.Contain("random.csv").And.Contain("60 rows"));
    }

    [Test]
    public void PatternMustFitTheBuffers()
    {
        using var buffers = new SteeringBuffers(SteeringTestDevice.Cpu, Layers, I + 1);
        Assert.Throws<AdaRas.Files.InputException>(() => SteeringPlan.Create(buffers, _pattern, 5, 0.2f, SteeringMethod.SteeringAdd));
    }

    [Test]
    public void PaperPatternsSteerWithSteeringAddOnly()
    {
        var paper = PaperPatterns.Find("gsm8k_Qwen3-1.7B").Load();
        using var buffers = new SteeringBuffers(SteeringTestDevice.Cpu, 28, 6144);
        using (var plan = SteeringPlan.Create(buffers, paper, 50, 0.2f, SteeringMethod.SteeringAdd))
        {
            var shift = buffers.ShiftToHost();
            foreach (var n in plan.Selected) Assert.That(shift[n.NeuronId], Is.EqualTo(0.2f * n.Delta));
            Assert.That(shift.Count(v => v != 0), Is.EqualTo(50));
            Assert.That(buffers.ScaleToHost().All(v => v == 1f));
        }
        foreach (var method in new[] { SteeringMethod.LinearBlend, SteeringMethod.SoftplusAdd })
        {
            var e = Assert.Throws<PatternFormatException>(() => SteeringPlan.Create(buffers, paper, 50, 0.2f, method));
            Assert.That(e!.Message, Does.Contain("gsm8k_Qwen3-1.7B.csv").And.Contain(method.ToName()));
        }
    }

    [Test]
    public unsafe void LayerPointersAddressTheLayersOfTheDenseBuffers()
    {
        using var buffers = NewBuffers();
        using var plan = SteeringPlan.Create(buffers, _pattern, 60, 0.4f, SteeringMethod.LinearBlend);
        Assert.That(buffers.PointersAreDeviceMemory, Is.False);
        var scale = buffers.ScaleToHost();
        var shift = buffers.ShiftToHost();
        for (int l = 0; l < Layers; l++)
        {
            var s = new ReadOnlySpan<float>((void*)buffers.ScalePointer(l), I);
            var h = new ReadOnlySpan<float>((void*)buffers.ShiftPointer(l), I);
            Assert.That(s.ToArray(), Is.EqualTo(scale.Skip(l * I).Take(I)), $"scale layer {l}");
            Assert.That(h.ToArray(), Is.EqualTo(shift.Skip(l * I).Take(I)), $"shift layer {l}");
        }
        Assert.That(buffers.LayerByteLength, Is.EqualTo(I * 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffers.ScalePointer(Layers));

        // The pointers stay put: a new alpha is visible through the same addresses.
        var before = buffers.ShiftPointer(1);
        plan.SetAlpha(0.9f);
        Assert.That(buffers.ShiftPointer(1), Is.EqualTo(before));
        Assert.That(new ReadOnlySpan<float>((void*)before, I).ToArray(), Is.EqualTo(buffers.ShiftToHost().Skip(I).Take(I)));
    }

    static ModelManifest Manifest(int layers, int inter) => new()
    {
        ModelId = "tiny-model", Precision = "fp32", Steerable = true, GraphFile = "model.onnx", SourceDType = "F32",
        NumLayers = layers, HiddenSize = 16, IntermediateSize = inter, NumAttentionHeads = 2, NumKeyValueHeads = 1, HeadDim = 8,
        VocabSize = 32, RopeTheta = 1e4, RmsNormEps = 1e-6, ContextLength = 64, TieWordEmbeddings = true, Inputs = [], Outputs = [],
    };

    [Test]
    public void EngineSteeringTensorsSeeThePlanWithoutACopy()
    {
        using var buffers = NewBuffers();
        using var plan = SteeringPlan.Create(buffers, _pattern, 60, 0.2f, SteeringMethod.LinearBlend);
        using var tensors = buffers.ToSteeringTensors(Manifest(Layers, I));
        Assert.That(tensors.IsHostMemory, Is.True);
        Assert.That(tensors.AllScales.ToArray(), Is.EqualTo(buffers.ScaleToHost()));
        plan.SetAlpha(0.6f);
        Assert.That(tensors.AllShifts.ToArray(), Is.EqualTo(buffers.ShiftToHost()));
        Assert.That(tensors.Scale(2).ToArray(), Is.EqualTo(buffers.ScaleToHost().Skip(2 * I)));
        Assert.Throws<ArgumentException>(() => buffers.ToSteeringTensors(Manifest(Layers + 1, I)));
    }

    [Test]
    public void MethodNamesFollowThePaper()
    {
        foreach (var m in Enum.GetValues<SteeringMethod>())
            Assert.That(SteeringMethods.Parse(m.ToName()), Is.EqualTo(m));
        Assert.That(SteeringMethods.Parse("Linear-Blend"), Is.EqualTo(SteeringMethod.LinearBlend));
        Assert.Throws<AdaRas.Files.UsageException>(() => SteeringMethods.Parse("multiply"));
    }
}
