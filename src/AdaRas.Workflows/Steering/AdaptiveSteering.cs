using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;
using AdaRas.Probing.LinearProbe;
using AdaRas.Steering;

namespace AdaRas.Workflows;

/// <summary>The gate's verdict on one question: p(correct), the threshold used, and whether to steer (p &lt; threshold).</summary>
internal sealed record GateDecision(double Score, double Threshold, bool Steer);

/// <summary>One evaluation of the per-token probe: after <see cref="GeneratedTokens"/> tokens, p(correct) and the steering state from then on.</summary>
internal sealed record ProbeCheck(int GeneratedTokens, double Score, bool Steer);

/// <summary>An answer with the decisions that shaped it.</summary>
internal sealed record AdaptiveGenerationResult(GenerationResult Generation, GateDecision Decision, IReadOnlyList<ProbeCheck> ProbeChecks)
{
    /// <summary>Whether steering was on at any step (the gate's choice, or a later probe check).</summary>
    public bool SteeredAtAll => Decision.Steer || ProbeChecks.Any(c => c.Steer);
}

/// <summary>
/// Adaptive steering (docs/ARCHITECTURE.md, method step 5): before answering, the question's raw text runs through the same loaded
/// model to read the gate's per-token features; the gate gives p(correct), and the answer is generated with the
/// steerer bound only when p &lt; threshold.
/// <para>
/// Beyond the paper, an optional per-token mode: an <see cref="L1Probe"/> on the last position's activations
/// (<see cref="Generator.MlpLast"/>, pre-steering) is re-evaluated every <see cref="ProbeEvery"/> generated tokens
/// and switches steering on or off from the next forward pass on. Off unless a probe is given.
/// </para>
/// The steerer stays owned by the caller; this object holds no native resources.
/// </summary>
internal sealed class AdaptiveSteering
{
    readonly AdaRas.Engine.LanguageModel _model;
    readonly QuestionFeatures _features;

    public Steerer Steerer { get; }
    public AttentionGate Gate { get; }
    /// <summary>p(correct) below this steers: the gate file's threshold unless overridden.</summary>
    public double Threshold { get; }
    public L1Probe? TokenProbe { get; }
    /// <summary>Generated tokens between per-token probe checks (0 when there is no probe).</summary>
    public int ProbeEvery { get; }

    AdaptiveSteering(AdaRas.Engine.LanguageModel model, Steerer steerer, AttentionGate gate, double threshold, L1Probe? probe, int every)
    {
        _model = model; Steerer = steerer; Gate = gate; Threshold = threshold; TokenProbe = probe; ProbeEvery = every;
        _features = new QuestionFeatures(model, gate.FeatureIds.ToArray());
    }

    /// <param name="model">The loaded model that will generate (the gate's features come from it too).</param>
    /// <param name="steerer">Steering to bind when the gate says so, made for <paramref name="model"/>.</param>
    /// <param name="gatePath">A gate file trained on this model (checked: identity, layers, intermediate size).</param>
    /// <param name="thresholdOverride">Replaces the file's threshold: 0 never steers, 1 steers unless p(correct) = 1.</param>
    /// <param name="tokenProbePath">An L1 probe file for the per-token mode (null: off).</param>
    /// <param name="every">Generated tokens between probe checks (default 16; needs a probe).</param>
    public static AdaptiveSteering Create(AdaRas.Engine.LanguageModel model, Steerer steerer, string gatePath,
        double? thresholdOverride = null, string? tokenProbePath = null, int? every = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(steerer);
        var shape = ModelShape.FromManifest(model.Manifest);
        var gate = AttentionGate.Load(gatePath, shape);
        if (thresholdOverride is double t && !(t >= 0 && t <= 1))
            throw new AdaRas.Files.UsageException($"gate threshold override {t} is not a probability in [0, 1]");
        L1Probe? probe = tokenProbePath is null ? null : L1Probe.Load(tokenProbePath, shape);
        if (probe is null && every is not null)
            throw new AdaRas.Files.UsageException("a probe interval was given without a per-token probe file");
        int interval = probe is null ? 0 : every ?? DefaultProbeEvery;
        if (probe is not null && interval <= 0)
            throw new AdaRas.Files.UsageException($"the per-token probe interval must be a positive number of tokens, got {interval}");
        if (steerer.Tensors.Layers != model.Manifest.NumLayers || steerer.Tensors.IntermediateSize != model.Manifest.IntermediateSize)
            throw new ArgumentException("the steerer was made for another model shape");
        return new AdaptiveSteering(model, steerer, gate, thresholdOverride ?? gate.Threshold, probe, interval);
    }

    public const int DefaultProbeEvery = 16;

    /// <summary>Runs <paramref name="question"/> (raw text, as the gate was trained) and applies the gate.</summary>
    public GateDecision Decide(string question)
    {
        var tokens = _features.Extract(question).Tokens!;
        double p = Gate.PredictCorrect(tokens);
        return new GateDecision(p, Threshold, p < Threshold);
    }

    /// <summary>
    /// Decides on <paramref name="question"/> (default: the request's user message), then generates with the
    /// steerer bound when the gate says so and, in per-token mode, switched by the probe as generation goes.
    /// </summary>
    /// <param name="onDecision">Called with the gate's decision before generation starts.</param>
    /// <param name="onProbeCheck">Called at each per-token probe check.</param>
    public AdaptiveGenerationResult Generate(ChatRequest request, GeneratorParams parameters, string? question = null,
        Action<string>? onText = null, Action<GateDecision>? onDecision = null, Action<ProbeCheck>? onProbeCheck = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var decision = Decide(question ?? request.UserMessage);
        onDecision?.Invoke(decision);
        var checks = new List<ProbeCheck>();
        bool steering = decision.Steer;
        Action<GenerationStep>? onStep = TokenProbe is null ? null : g =>
        {
            // After a token that ends generation no forward pass ran, so the taps are stale: nothing to decide.
            if (g.IsDone || g.GeneratedCount % ProbeEvery != 0) return;
            double p = TokenProbe.PredictCorrect(g.MlpLast);
            bool steer = p < TokenProbe.Threshold;
            var check = new ProbeCheck(g.GeneratedCount, p, steer);
            checks.Add(check);
            onProbeCheck?.Invoke(check);
            if (steer != steering) g.Steering = steer ? Steerer.Tensors : null;
            steering = steer;
        };
        var result = TextGeneration.Generate(_model, request, parameters,
            configure: g => { if (decision.Steer) g.Steering = Steerer.Tensors; },
            onText: onText, onStep: onStep, cancellation: cancellation);
        return new AdaptiveGenerationResult(result, decision, checks);
    }
}
