using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Workflows;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;
using AdaRas.Probing.LinearProbe;
using AdaRas.Steering;
using AdaRas.Tests.Cli;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Probing;

/// <summary>
/// Adaptive generation on the tiny model: the gate's features come from the same loaded model, steering is bound
/// exactly when p(correct) &lt; threshold, and the per-token probe switches steering mid-generation.
/// </summary>
[TestFixture]
public sealed class AdaptiveSteeringTests
{
    const string Question = "How many apples are in twice the boxes?";
    const int NewTokens = 20;
    static readonly CheckpointShape Shape = CheckpointShapes.Tiny;

    AdaRas.Engine.LanguageModel _model = null!;
    Steerer _steerer = null!;
    string _dir = "", _gatePath = "", _patternPath = "";
    AttentionGate _gate = null!;
    ModelShape _shape = null!;

    static readonly GeneratorParams Greedy = new() { MaxNewTokens = NewTokens, StopTokenIds = [] };
    static ChatRequest Request => new(Question) { Raw = true };

    [OneTimeSetUp]
    public void LoadModelGateAndSteerer()
    {
        _model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(Shape));
        _shape = ModelShape.FromManifest(_model.Manifest);
        _dir = TestCheckpoints.NewFolder("adaptive");
        Directory.CreateDirectory(_dir);

        // A small gate trained through the real path (questions -> taps -> trainer -> file).
        var train = LabelledQuestionFile.Load(QuestionFiles.Write("train.jsonl", QuestionFiles.MarkerRows(12, seed: 11)));
        var validation = LabelledQuestionFile.Load(QuestionFiles.Write("validation.jsonl", QuestionFiles.MarkerRows(6, seed: 12)));
        int[] ids = [3, 17, 40, 96, 120, 191];
        var result = AttentionGateTrainer.Train(_shape, ids, QuestionDataset.GateExamples(_model, train, ids),
            QuestionDataset.GateExamples(_model, validation, ids), new AttentionGateOptions { HiddenSize = 8, MaxEpochs = 3 });
        _gatePath = Path.Combine(_dir, "gate.bin");
        result.Gate.Save(_gatePath);
        _gate = AttentionGate.Load(_gatePath, _shape);

        _patternPath = TinyPattern.Write(Path.Combine(_dir, "pattern.csv"), Shape);
        _steerer = Steerer.Create(_model, new SteeringOptions(_patternPath) { Neurons = 10, Alpha = 2f });
    }

    [OneTimeTearDown]
    public void Dispose()
    {
        _steerer?.Dispose();
        _model?.Dispose();
    }

    int[] Plain() => TextGeneration.Generate(_model, Request, Greedy).TokenIds;
    int[] AlwaysSteered() => TextGeneration.Generate(_model, Request, Greedy, configure: g => g.Steering = _steerer.Tensors).TokenIds;

    /// <summary>Greedy generation with steering switched by hand after <paramref name="switchAfter"/> generated tokens.</summary>
    (int[] Tokens, List<float[]> LastActivations) Switched(bool steerFirst, int switchAfter, int every)
    {
        var prompt = _model.Tokenizer.Encode(Question);
        using var g = new Generator(_model, Greedy);
        if (steerFirst) g.Steering = _steerer.Tensors;
        g.AppendTokens(prompt);
        var activations = new List<float[]>();
        while (!g.IsDone)
        {
            g.GenerateNextToken();
            if (!g.IsDone && g.GeneratedCount % every == 0) activations.Add(g.MlpLast.ToArray());
            if (g.GeneratedCount == switchAfter) g.Steering = steerFirst ? null : _steerer.Tensors;
        }
        return (g.Sequence.Skip(prompt.Length).ToArray(), activations);
    }

    [Test]
    public void Decide_ScoresTheQuestionsFeaturesWithTheGate()
    {
        var adaptive = AdaptiveSteering.Create(_model, _steerer, _gatePath);
        var decision = adaptive.Decide(Question);
        var tokens = new QuestionFeatures(_model, _gate.FeatureIds.ToArray()).Extract(Question).Tokens!;
        Assert.That(decision.Score, Is.EqualTo(_gate.PredictCorrect(tokens)));
        Assert.That(decision.Threshold, Is.EqualTo(_gate.Threshold));
        Assert.That(decision.Steer, Is.EqualTo(decision.Score < _gate.Threshold));
        Assert.That(decision.Score, Is.InRange(0.0, 1.0).And.Not.EqualTo(1.0));
    }

    [Test]
    public void SteersExactlyWhenTheScoreIsBelowTheThreshold()
    {
        var plain = Plain();
        var steered = AlwaysSteered();
        Assert.That(steered, Is.Not.EqualTo(plain), "the steerer changes this continuation");

        var never = AdaptiveSteering.Create(_model, _steerer, _gatePath, thresholdOverride: 0).Generate(Request, Greedy);
        Assert.That(never.Decision.Steer, Is.False);
        Assert.That(never.Decision.Threshold, Is.EqualTo(0));
        Assert.That(never.Generation.TokenIds, Is.EqualTo(plain));

        var always = AdaptiveSteering.Create(_model, _steerer, _gatePath, thresholdOverride: 1).Generate(Request, Greedy);
        Assert.That(always.Decision.Steer, Is.True);
        Assert.That(always.Generation.TokenIds, Is.EqualTo(steered));
        Assert.That(always.Decision.Score, Is.EqualTo(never.Decision.Score), "the same question gets the same score");

        // At a threshold just above / at the score itself: p < t steers, p >= t does not.
        double p = never.Decision.Score;
        Assert.That(AdaptiveSteering.Create(_model, _steerer, _gatePath, Math.BitIncrement(p)).Decide(Question).Steer, Is.True);
        Assert.That(AdaptiveSteering.Create(_model, _steerer, _gatePath, p).Decide(Question).Steer, Is.False);
        Assert.That(never.ProbeChecks, Is.Empty, "per-token mode is off by default");
    }

    string Probe(string name, double intercept, int[]? ids = null, double[]? weights = null)
    {
        var info = new L1ProbeTrainingInfo(10, 5, 5, _shape.NeuronCount, 5, 0, 0.5, 0.5);
        var path = Path.Combine(_dir, name);
        new L1Probe(_shape, ids ?? [], weights ?? [], intercept, 0.5, 0.1, info).Save(path);
        return path;
    }

    [Test]
    public void PerTokenProbe_SwitchesSteeringOnMidGeneration()
    {
        // Gate says "don't steer" (threshold 0); the probe always predicts failure, read from a real activation.
        const int every = 4;
        const int neuron = 100;
        const double weight = 0.01, intercept = -5;
        var probe = Probe("steer-probe.bin", intercept, [neuron], [weight]);
        var adaptive = AdaptiveSteering.Create(_model, _steerer, _gatePath, thresholdOverride: 0, tokenProbePath: probe, every: every);
        var result = adaptive.Generate(Request, Greedy);

        var (expected, activations) = Switched(steerFirst: false, switchAfter: every, every);
        Assert.That(result.Generation.TokenIds, Is.EqualTo(expected));
        Assert.That(expected, Is.Not.EqualTo(Plain()).And.Not.EqualTo(AlwaysSteered()), "switching mid-way is neither run");
        Assert.That(result.Decision.Steer, Is.False);
        Assert.That(result.ProbeChecks.Select(c => c.GeneratedTokens), Is.EqualTo(new[] { 4, 8, 12, 16 }));
        Assert.That(result.ProbeChecks.All(c => c.Steer));
        Assert.That(result.SteeredAtAll);
        // Each check read the last position's activation of that step.
        var scores = activations.Select(a => 1 / (1 + Math.Exp(-(intercept + weight * a[neuron])))).ToArray();
        Assert.That(result.ProbeChecks.Select(c => c.Score), Is.EqualTo(scores).Within(1e-12));
        Assert.That(scores.Distinct().Count(), Is.GreaterThan(1), "the activation changes from check to check");
    }

    [Test]
    public void PerTokenProbe_SwitchesSteeringOffMidGeneration()
    {
        const int every = 5;
        var probe = Probe("calm-probe.bin", intercept: 3); // p(correct) = 0.95 >= 0.5: stop steering
        var adaptive = AdaptiveSteering.Create(_model, _steerer, _gatePath, thresholdOverride: 1, tokenProbePath: probe, every: every);
        var result = adaptive.Generate(Request, Greedy);
        Assert.That(result.Decision.Steer, Is.True);
        Assert.That(result.ProbeChecks.Select(c => (c.GeneratedTokens, c.Steer)), Is.EqualTo(new[] { (5, false), (10, false), (15, false) }));
        Assert.That(result.Generation.TokenIds, Is.EqualTo(Switched(steerFirst: true, switchAfter: every, every).Tokens));
    }

    [Test]
    public void BadArguments_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => AdaptiveSteering.Create(_model, _steerer, _gatePath, thresholdOverride: 1.5));
        Assert.Throws<ArgumentException>(() => AdaptiveSteering.Create(_model, _steerer, _gatePath, every: 4), "an interval without a probe");
        Assert.Throws<ArgumentException>(() => AdaptiveSteering.Create(_model, _steerer, _gatePath, tokenProbePath: Probe("p0.bin", 0), every: 0));
        var otherProbe = Path.Combine(_dir, "other-model-probe.bin");
        new L1Probe(new ModelShape(Shape.Layers, Shape.Intermediate, "some-other-model"), [], [], 0, 0.5, 0.1,
            new L1ProbeTrainingInfo(10, 5, 5, 1, 5, 0, 0.5, 0.5)).Save(otherProbe);
        var e = Assert.Throws<ModelFormatException>(() => AdaptiveSteering.Create(_model, _steerer, _gatePath, tokenProbePath: otherProbe));
        Assert.That(e!.Message, Does.Contain(otherProbe).And.Contain("some-other-model"));
    }

    [Test]
    public void GenerateCli_WithAGate_PrintsTheDecision_AndSteersAsDecided()
    {
        var plainText = CliRunner.Run("generate", Question, "--model", TestExports.Folder(Shape), "--max-new-tokens", "12");
        var steeredText = CliRunner.Run("generate", Question, "--model", TestExports.Folder(Shape), "--max-new-tokens", "12",
            "--steer", _patternPath, "--neurons", "10", "--alpha", "2");
        var gated = CliRunner.Run("generate", Question, "--model", TestExports.Folder(Shape), "--max-new-tokens", "12",
            "--steer", _patternPath, "--neurons", "10", "--alpha", "2", "--gate", _gatePath, "--gate-threshold", "1");
        Assert.That(gated.ExitCode, Is.EqualTo(0), gated.ToString());
        Assert.That(gated.Error, Does.Contain("[gate: p(correct) = ").And.Contain("threshold 1.0000 -> steer"));
        Assert.That(gated.Out, Is.EqualTo(steeredText.Out));
        Assert.That(gated.Out, Is.Not.EqualTo(plainText.Out));

        var bad = CliRunner.Run("generate", Question, "--model", TestExports.Folder(Shape), "--gate", _gatePath);
        Assert.That(bad.ExitCode, Is.EqualTo(2));
        Assert.That(bad.Error, Does.Contain("--steer"));
        var otherModel = CliRunner.Run("generate", Question, "--model", TestExports.Folder(CheckpointShapes.Tiny, seed: 2),
            "--steer", _patternPath, "--neurons", "10", "--gate", _gatePath);
        Assert.That(otherModel.ExitCode, Is.EqualTo(2), otherModel.ToString());
        Assert.That(otherModel.Error, Does.Contain(_gatePath).And.Contain("trained for model"));
    }
}

/// <summary>An RCN pattern for a tiny model, in the paper's CSV dialect (deltas only).</summary>
static class TinyPattern
{
    public static string Write(string path, CheckpointShape shape, int count = 20, int seed = 3)
    {
        var rng = new Random(seed);
        var ids = Enumerable.Range(0, shape.Layers * shape.Intermediate).OrderBy(_ => rng.Next()).Take(count);
        var lines = ids.Select(id =>
        {
            float w = (float)Math.Round(rng.NextDouble() * 8 - 4, 4);
            return FormattableString.Invariant($"{id},{id / shape.Intermediate},{id % shape.Intermediate},{w},{Math.Abs(w)}");
        });
        File.WriteAllLines(path, ["overall_neuron_index,layer,neuron_index_in_layer,weight,abs_weight", .. lines]);
        return path;
    }
}
