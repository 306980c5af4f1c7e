using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Steering;
using AdaRas.Steering.ControlVectors;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Plans;
using AdaRas.Steering.Rcn;
using AdaRas.Tests.Reference;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Steering;

/// <summary>
/// A pattern identified by the probe, applied through the engine with <see cref="Steerer"/>, against the managed
/// reference forward with the same per-neuron affine (or the equivalent residual control vector).
/// </summary>
public sealed class SteeringEngineTests
{
    static readonly CheckpointShape Shape = CheckpointShapes.Tiny;
    static readonly int[] Prompt = [12, 7, 99, 150, 3, 41];
    const double Tolerance = 1e-4;
    const int K = 12;
    const float Alpha = 2f;

    AdaRas.Engine.LanguageModel _model = null!;
    ReferenceModel _reference = null!;
    string _patternPath = "", _upperLayersPath = "";

    [OneTimeSetUp]
    public void IdentifyOnce()
    {
        _model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(Shape));
        using (var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(Shape))) _reference = ReferenceModel.Load(checkpoint);
        var dir = TestCheckpoints.NewFolder("rcn-steer");
        var data = SyntheticTrajectories.Write(Path.Combine(dir, "set.jsonl"), SyntheticTrajectories.Make(perClass: 2));
        _patternPath = Path.Combine(dir, "pattern.csv");
        var result = new RcnIdentifier(_model, 32).Identify(ContrastiveSet.Load(data), _patternPath,
            new IdentifyOptions { Top = 60 }, SteeringTestDevice.Cpu);

        // llama.cpp control vectors cannot steer layer 0: the same ranking without layer 0's neurons.
        var upper = result.Ranked.Where(n => n.Layer >= 1).Select((n, k) => n with { Rank = k + 1 }).ToList();
        _upperLayersPath = Path.Combine(dir, "upper.csv");
        RcnPattern.Write(_upperLayersPath, upper, result.Sidecar with { Top = upper.Count });
    }

    [OneTimeTearDown]
    public void Unload() => _model.Dispose();

    RcnPattern Load(string path) => RcnPattern.Load(path, ModelShape.FromManifest(_model.Manifest));

    /// <summary>The affine of the top K neurons per layer, from the pattern file by the formulas, not by the kernels.</summary>
    ReferenceSteering AffineOf(string patternPath, SteeringMethod method, int from)
    {
        var top = Load(patternPath).Top(K);
        int I = Shape.Intermediate;
        var (scale, shift) = ReferenceRcn.Scatter(Shape.Layers * I, top.Select(n => (int)n.NeuronId).ToArray(),
            top.Select(n => n.Delta).ToArray(), top.Select(n => n.MuPlus!.Value).ToArray(), (int)method, Alpha);
        return new ReferenceSteering
        {
            From = from,
            Scale = Enumerable.Range(0, Shape.Layers).ToDictionary(l => l, l => scale[(l * I)..((l + 1) * I)]),
            Shift = Enumerable.Range(0, Shape.Layers).ToDictionary(l => l, l => shift[(l * I)..((l + 1) * I)]),
        };
    }

    /// <summary>Prefill (logits at every position) and three decode steps, engine vs reference.</summary>
    void AssertSameLogits(Steerer steerer, ReferenceSteering expectedSteering)
    {
        using var generator = new Generator(_model, new GeneratorParams { MaxLength = 32 }) { Steering = steerer.Tensors };
        var session = _reference.NewSession();
        generator.AppendTokens(Prompt, LogitsScope.All);
        var expected = session.Forward(Prompt, expectedSteering);
        Assert.That(Compare.RelativeError(generator.AllLogits, Compare.Flatten(expected)), Is.LessThan(Tolerance), "prefill");
        var plain = _reference.NewSession().Forward(Prompt);
        Assert.That(Compare.RelativeError(generator.Logits, plain[^1]), Is.GreaterThan(1e-3), "steering changes the last position");
        for (int step = 0; step < 3; step++)
        {
            int token = ReferenceGeneration.ArgMax(generator.Logits);
            generator.AppendTokens([token]);
            expected = session.Forward([token], expectedSteering);
            Assert.That(Compare.RelativeError(generator.Logits, expected[0]), Is.LessThan(Tolerance), $"decode step {step}");
        }
    }

    [TestCase(SteeringMethod.SteeringAdd)]
    [TestCase(SteeringMethod.LinearBlend)]
    [TestCase(SteeringMethod.SoftplusAdd)]
    public void EachMethod_ThroughTheEngine_EqualsTheReferenceAffineAtTheLastPosition(SteeringMethod method)
    {
        using var steerer = Steerer.Create(_model, new SteeringOptions(_patternPath) { Neurons = K, Alpha = Alpha, Method = method }, SteeringTestDevice.Cpu);
        Assert.That(steerer.Tensors.Positions, Is.EqualTo(SteeringPositions.Last));
        AssertSameLogits(steerer, AffineOf(_patternPath, method, from: -1));
    }

    [TestCase(SteeringMethod.LinearBlend)]
    [TestCase(SteeringMethod.SoftplusAdd)]
    public void AtAllPositions_EqualsTheReferenceAffineEverywhere(SteeringMethod method)
    {
        using var steerer = Steerer.Create(_model, new SteeringOptions(_patternPath)
        {
            Neurons = K, Alpha = Alpha, Method = method, Positions = SteeringPositions.All,
        }, SteeringTestDevice.Cpu);
        AssertSameLogits(steerer, AffineOf(_patternPath, method, from: 0));
    }

    /// <summary>With --positions all, neuron steering and its control vector (added to the residual stream) agree.</summary>
    [TestCase(SteeringMethod.SteeringAdd)]
    [TestCase(SteeringMethod.SoftplusAdd)]
    public void AtAllPositions_NeuronSteeringEqualsItsResidualControlVector(SteeringMethod method)
    {
        var pattern = Load(_upperLayersPath);
        Assert.That(pattern.Top(K).Select(n => n.Layer).Distinct(), Is.EqualTo(new[] { 1 }));
        using var steerer = Steerer.Create(_model, pattern, new SteeringOptions(_upperLayersPath)
        {
            Neurons = K, Alpha = Alpha, Method = method, Positions = SteeringPositions.All,
        }, SteeringTestDevice.Cpu);
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(Shape));
        var vector = ControlVector.FromPattern(checkpoint, pattern, K, Alpha, method);
        Assert.That(vector.Directions[0].All(v => v == 0), "nothing at layer 0");
        var residual = new ReferenceSteering
        {
            From = 0,
            Residual = Enumerable.Range(0, Shape.Layers).ToDictionary(l => l, l => vector.Directions[l]),
        };
        AssertSameLogits(steerer, residual);
    }

    [Test]
    public void ChangingAlpha_IsSeenAtTheNextStep()
    {
        using var steerer = Steerer.Create(_model, new SteeringOptions(_patternPath) { Neurons = K, Alpha = Alpha }, SteeringTestDevice.Cpu);
        using var generator = new Generator(_model, new GeneratorParams { MaxLength = 32 }) { Steering = steerer.Tensors };
        generator.AppendTokens(Prompt);
        steerer.SetAlpha(0f);
        generator.AppendTokens([5]);
        var plain = _reference.NewSession();
        plain.Forward(Prompt, AffineOf(_patternPath, SteeringMethod.SteeringAdd, from: -1));
        Assert.That(Compare.RelativeError(generator.Logits, plain.Forward([5])[0]), Is.LessThan(Tolerance), "alpha 0 is no steering");
        Assert.That(steerer.Describe(), Does.Contain("alpha=0").And.Contain("K=12").And.Contain("identified on set"));
    }
}
