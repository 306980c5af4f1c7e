using AdaRas.Engine;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Experiments;
using AdaRas.Model;
using AdaRas.Model.Synthetic;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;
using AdaRas.Probing.LinearProbe;
using AdaRas.Steering;
using AdaRas.Steering.Kernels;
using AdaRas.Tests.Probing;
using AdaRas.Tests.Support;
using AdaRas.Workflows;

namespace AdaRas.Tests.Workflows;

/// <summary>
/// The one steering policy on the tiny model: each mode generates what the hand-wired path generates, a retargeted
/// policy equals a fresh one (what a sweep relies on), and eval's config reaches the per-token mode.
/// </summary>
[TestFixture]
public sealed class SteeringPolicyTests
{
    const string Question = "How many apples are in twice the boxes?";
    static readonly CheckpointShape Shape = CheckpointShapes.Tiny;
    static readonly GeneratorParams Greedy = new() { MaxNewTokens = 16, StopTokenIds = [] };
    static ChatRequest Request => new(Question) { Raw = true };

    LanguageModel _model = null!;
    ModelShape _shape = null!;
    string _dir = "", _gatePath = "", _patternPath = "";

    [OneTimeSetUp]
    public void LoadModelAndTrainAGate()
    {
        _model = LanguageModel.Load(TestExports.Folder(Shape));
        _shape = ModelShape.FromManifest(_model.Manifest);
        _dir = TestCheckpoints.NewFolder("policy");
        Directory.CreateDirectory(_dir);
        var train = LabelledQuestionFile.Load(QuestionFiles.Write("policy-train.jsonl", QuestionFiles.MarkerRows(12, seed: 21)));
        var validation = LabelledQuestionFile.Load(QuestionFiles.Write("policy-validation.jsonl", QuestionFiles.MarkerRows(6, seed: 22)));
        var trained = GateTraining.Train(_model, new GateTrainingRequest(train, validation)
        {
            Top = 6, Options = new AttentionGateOptions { HiddenSize = 8, MaxEpochs = 3 },
        });
        _gatePath = Path.Combine(_dir, "gate.bin");
        trained.Gate.Save(_gatePath);
        _patternPath = TinyPattern.Write(Path.Combine(_dir, "pattern.csv"), Shape);
    }

    [OneTimeTearDown]
    public void Dispose() => _model?.Dispose();

    SteeringOptions Steer(int neurons = 10, float alpha = 2f) => new(_patternPath) { Neurons = neurons, Alpha = alpha };

    int[] HandWired(SteeringOptions? options)
    {
        if (options is null) return TextGeneration.Generate(_model, Request, Greedy).TokenIds;
        using var steerer = Steerer.Create(_model, options);
        return TextGeneration.Generate(_model, Request, Greedy, configure: g => g.Steering = steerer.Tensors).TokenIds;
    }

    string Probe(string name, double intercept)
    {
        var path = Path.Combine(_dir, name);
        new L1Probe(_shape, [], [], intercept, 0.5, 0.1, new L1ProbeTrainingInfo(10, 5, 5, _shape.NeuronCount, 5, 0, 0.5, 0.5)).Save(path);
        return path;
    }

    [Test]
    public void EachMode_GeneratesWhatTheHandWiredPathDoes()
    {
        var plain = HandWired(null);
        var steered = HandWired(Steer());
        Assert.That(steered, Is.Not.EqualTo(plain), "the steering changes this continuation");

        using var none = SteeringPolicy.Create(_model, SteeringSettings.None);
        using var always = SteeringPolicy.Create(_model, new SteeringSettings { Steering = Steer() });
        using var neverGate = SteeringPolicy.Create(_model, new SteeringSettings { Steering = Steer(), GatePath = _gatePath, GateThreshold = 0 });
        using var alwaysGate = SteeringPolicy.Create(_model, new SteeringSettings { Steering = Steer(), GatePath = _gatePath, GateThreshold = 1 });
        Assert.That((none.Mode, always.Mode, neverGate.Mode), Is.EqualTo((SteeringMode.None, SteeringMode.Always, SteeringMode.PerQuestion)));

        var n = none.Generate(Request, Greedy);
        Assert.That((n.Generation.TokenIds, n.Steered, n.Decision), Is.EqualTo((plain, (bool?)null, (GateDecision?)null)));
        var a = always.Generate(Request, Greedy);
        Assert.That((a.Generation.TokenIds, a.Steered), Is.EqualTo((steered, (bool?)true)));
        var off = neverGate.Generate(Request, Greedy);
        Assert.That((off.Generation.TokenIds, off.Steered, off.Decision!.Steer), Is.EqualTo((plain, (bool?)false, false)));
        var on = alwaysGate.Generate(Request, Greedy);
        Assert.That((on.Generation.TokenIds, on.Steered, on.Decision!.Steer), Is.EqualTo((steered, (bool?)true, true)));
        Assert.That(alwaysGate.Describe(), Does.Contain("gated (threshold 1.0000"));
    }

    [Test]
    public void PerToken_SwitchesOnAfterAGateThatSaidNo()
    {
        using var policy = SteeringPolicy.Create(_model, new SteeringSettings
        {
            Steering = Steer(), GatePath = _gatePath, GateThreshold = 0, TokenProbePath = Probe("always-fails.bin", -5), ProbeEvery = 4,
        });
        Assert.That(policy.Mode, Is.EqualTo(SteeringMode.PerToken));
        var result = policy.Generate(Request, Greedy);
        Assert.That(result.Decision!.Steer, Is.False);
        Assert.That(result.ProbeChecks.Select(c => c.GeneratedTokens), Is.EqualTo(new[] { 4, 8, 12 }));
        Assert.That(result.Steered, Is.True, "steered at some step although the gate said no");
        Assert.That(result.Generation.TokenIds, Is.Not.EqualTo(HandWired(null)).And.Not.EqualTo(HandWired(Steer())));
    }

    [Test]
    public void Retarget_LeavesWhatAFreshPolicyWould()
    {
        using var policy = SteeringPolicy.Create(_model, new SteeringSettings { Steering = Steer(neurons: 10, alpha: 2f) });
        foreach (var (k, alpha) in new[] { (10, 0.5f), (4, 3f), (15, -1f), (4, 3f) })
        {
            policy.Retarget(k, alpha);
            using var fresh = Steerer.Create(_model, Steer(k, alpha));
            Assert.That(policy.Steerer!.Tensors.AllShifts.ToArray(), Is.EqualTo(fresh.Tensors.AllShifts.ToArray()), $"shifts at K={k}, alpha={alpha}");
            Assert.That(policy.Steerer.Tensors.AllScales.ToArray(), Is.EqualTo(fresh.Tensors.AllScales.ToArray()), $"scales at K={k}, alpha={alpha}");
            Assert.That(policy.Options, Is.EqualTo(fresh.Options));
            Assert.That(policy.Generate(Request, Greedy).Generation.TokenIds, Is.EqualTo(HandWired(Steer(k, alpha))));
        }
        using var none = SteeringPolicy.None(_model);
        Assert.Throws<InvalidOperationException>(() => none.Retarget(5, 1f));
    }

    [Test]
    public void Create_RefusesSettingsThatCannotHold_AndFollowsTheModelsProvider()
    {
        Assert.Throws<ArgumentException>(() => SteeringPolicy.Create(_model, new SteeringSettings { GatePath = _gatePath }));
        Assert.Throws<ArgumentException>(() => SteeringPolicy.Create(_model, new SteeringSettings { Steering = Steer(), GateThreshold = 0.5 }));
        var missing = Path.Combine(_dir, "missing.gate");
        Assert.That(() => SteeringPolicy.Create(_model, new SteeringSettings { Steering = Steer(), GatePath = missing }),
            Throws.Exception.With.Message.Contains(missing), "the gate is loaded after the steerer, which is then freed");
        using var device = KernelDevice.ForModel(_model);
        Assert.That(device.Backend, Is.EqualTo(KernelBackend.Cpu), "a CPU session gets CPU steering buffers");
    }

    [Test]
    public void KernelDevice_ForCuda_IsTheCudaBranch()
    {
        // The CUDA branch is real code on machines without a GPU too: it asks ILGPU for a CUDA device and says why not.
        using var cpu = KernelDevice.ForProvider(ExecutionProvider.Cpu);
        Assert.That(cpu.Backend, Is.EqualTo(KernelBackend.Cpu));
        KernelDevice? cuda = null;
        try { cuda = KernelDevice.ForProvider(ExecutionProvider.Cuda); }
        catch (InvalidOperationException e)
        {
            Assert.That(e.Message, Does.Contain("no CUDA device"));
            return;
        }
        using (cuda) Assert.That((cuda.Backend, cuda.OnPrimaryContext), Is.EqualTo((KernelBackend.Cuda, true)));
    }

    [Test]
    public void EvalConfig_ReachesThePerTokenMode()
    {
        var probe = Probe("config-probe.bin", -5);
        var text = $"name: per-token\nmodel: {_model.Folder}\nsample_path: x.jsonl\ntask: math\ngeneration: {{max_new_tokens: 12}}\n" +
                   $"intervention: {{enabled: true, num_neurons: 10, strength: 2, pattern_path: {_patternPath}}}\n" +
                   $"gate: {{file: {_gatePath}, threshold: 0, token_probe: {probe}, probe_every: 3}}\n";
        var config = ExperimentConfig.Parse(text);
        Assert.That((config.Gate!.TokenProbe, config.Gate.ProbeEvery), Is.EqualTo((probe, (int?)3)));
        var withoutProbe = ExperimentConfig.Parse(text.Replace($", token_probe: {probe}, probe_every: 3", ""));
        Assert.That(withoutProbe.ToCanonicalJson(), Does.Not.Contain("token_probe").And.Not.Contain("probe_every"),
            "configs without a token probe keep the canonical form (and hash) they had");
        Assert.That(config.ToCanonicalJson(), Does.Contain("token_probe"));

        var sample = new BenchmarkSample(0, "q0", Question, "1", null);
        using (var source = new EngineAnswerSource(_model, config))
            Assert.That(source.Answer(sample, Question, default).Steered, Is.True, "the probe switched steering on");
        using (var source = new EngineAnswerSource(_model, withoutProbe))
            Assert.That(source.Answer(sample, Question, default).Steered, Is.False, "the gate alone says no at threshold 0");
        Assert.That(() => ExperimentConfig.Parse(text.Replace($"token_probe: {probe}, ", "")),
            Throws.InstanceOf<ExperimentConfigException>().With.Message.Contains("probe_every needs token_probe"));
    }
}
