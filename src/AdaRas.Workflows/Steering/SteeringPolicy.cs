using AdaRas.Engine;
using AdaRas.Steering;
using AdaRas.Steering.Kernels;

namespace AdaRas.Workflows;

/// <summary>How a <see cref="SteeringPolicy"/> decides to steer.</summary>
internal enum SteeringMode
{
    /// <summary>Plain generation.</summary>
    None,
    /// <summary>Every generation steered (the paper's ablation).</summary>
    Always,
    /// <summary>The gate decides once per question (AdaRAS).</summary>
    PerQuestion,
    /// <summary>The gate decides first, then an L1 probe switches steering every k generated tokens (beyond the paper).</summary>
    PerToken,
}

/// <summary>
/// What a user asked for, before anything is loaded: the steering (null: none) and, optionally, the gate that
/// decides per question and the probe that switches per token. <see cref="SteeringOptions"/> holds the defaults.
/// </summary>
internal sealed record SteeringSettings
{
    public SteeringOptions? Steering { get; init; }
    public string? GatePath { get; init; }
    /// <summary>Replaces the gate file's threshold on p(correct).</summary>
    public double? GateThreshold { get; init; }
    public string? TokenProbePath { get; init; }
    /// <summary>Generated tokens between token-probe checks (default <see cref="AdaptiveSteering.DefaultProbeEvery"/>).</summary>
    public int? ProbeEvery { get; init; }

    public static SteeringSettings None { get; } = new();
}

/// <summary>One generation under a policy, with the decisions that shaped it.</summary>
/// <param name="Steered">Null when the policy never steers; else whether steering was on at any step.</param>
/// <param name="Decision">The gate's verdict (gated modes only).</param>
internal sealed record SteeredGeneration(GenerationResult Generation, bool? Steered, GateDecision? Decision,
    IReadOnlyList<ProbeCheck> ProbeChecks);

/// <summary>
/// The one place that decides whether a generation is steered: no steering, always, gated per question, or gated
/// per question then switched per token. It owns what it loads (the steerer's device buffers and plan, the gate,
/// the probe) and frees it on <see cref="Dispose"/>; a failure while loading frees what was already made.
/// Used by <c>generate</c>, <c>eval</c>, <c>sweep</c> and the demo. Load once, generate many times: a sweep moves
/// the same policy between points with <see cref="Retarget"/> (one small kernel) instead of rebuilding it.
/// </summary>
/// <remarks>
/// Not thread-safe: the steering buffers are shared by every generation of this policy, so generations run one at
/// a time (a server serialises requests on it, or holds one policy per concurrent slot).
/// </remarks>
internal sealed class SteeringPolicy : IDisposable
{
    readonly LanguageModel _model;
    /// <summary>The model this policy steers.</summary>
    public LanguageModel Model => _model;
    readonly AdaptiveSteering? _gate;

    /// <summary>The steering buffers and plan (null in <see cref="SteeringMode.None"/>).</summary>
    public Steerer? Steerer { get; }
    public SteeringMode Mode { get; }
    /// <summary>What is steered (null in <see cref="SteeringMode.None"/>).</summary>
    public SteeringOptions? Options => Steerer?.Options;
    /// <summary>The gate's threshold in use (the file's, or the override); null without a gate.</summary>
    public double? GateThreshold => _gate?.Threshold;

    SteeringPolicy(LanguageModel model, Steerer? steerer, AdaptiveSteering? gate)
    {
        _model = model; Steerer = steerer; _gate = gate;
        Mode = steerer is null ? SteeringMode.None
            : gate is null ? SteeringMode.Always
            : gate.TokenProbe is null ? SteeringMode.PerQuestion : SteeringMode.PerToken;
    }

    /// <summary>A policy that never steers.</summary>
    public static SteeringPolicy None(LanguageModel model) => new(model, null, null);

    /// <param name="device">Kernel device for the steering buffers, kept by the caller; null: the steerer makes one for the model's provider.</param>
    public static SteeringPolicy Create(LanguageModel model, SteeringSettings settings, KernelDevice? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Steering is null)
        {
            if (settings.GatePath is not null || settings.TokenProbePath is not null)
                throw new ArgumentException("a gate decides when to steer: it needs a pattern to steer with");
            return None(model);
        }
        if (settings.GatePath is null && (settings.TokenProbePath is not null || settings.GateThreshold is not null || settings.ProbeEvery is not null))
            throw new ArgumentException("a gate threshold, a token probe and a probe interval need a gate");
        var steerer = Steerer.Create(model, settings.Steering, device);
        try
        {
            var gate = settings.GatePath is null ? null : AdaptiveSteering.Create(model, steerer, settings.GatePath,
                settings.GateThreshold, settings.TokenProbePath, settings.ProbeEvery);
            return new SteeringPolicy(model, steerer, gate);
        }
        catch
        {
            steerer.Dispose();
            throw;
        }
    }

    /// <summary>Steers the pattern's first <paramref name="neurons"/> at <paramref name="alpha"/> from the next generation on.</summary>
    public void Retarget(int neurons, float alpha)
    {
        if (Steerer is null) throw new InvalidOperationException("this policy does not steer");
        Steerer.Retarget(neurons, alpha);
    }

    /// <summary>One line for logs: what is steered and how it is decided.</summary>
    public string Describe() => Mode switch
    {
        SteeringMode.None => "no steering",
        SteeringMode.Always => Steerer!.Describe(),
        _ => $"{Steerer!.Describe()}, gated (threshold {_gate!.Threshold:F4}{(Mode == SteeringMode.PerToken ? $", token probe every {_gate.ProbeEvery}" : "")})",
    };

    /// <summary>
    /// Generates a reply to <paramref name="request"/> under the policy. The gate reads <paramref name="question"/>
    /// (default: the request's user message) raw, as it was trained.
    /// </summary>
    public SteeredGeneration Generate(ChatRequest request, GeneratorParams parameters, string? question = null,
        Action<string>? onText = null, Action<GateDecision>? onDecision = null, Action<ProbeCheck>? onProbeCheck = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_gate is not null)
        {
            var adaptive = _gate.Generate(request, parameters, question, onText, onDecision, onProbeCheck, cancellation);
            return new SteeredGeneration(adaptive.Generation, adaptive.SteeredAtAll, adaptive.Decision, adaptive.ProbeChecks);
        }
        var result = TextGeneration.Generate(_model, request, parameters,
            configure: Steerer is null ? null : g => g.Steering = Steerer.Tensors,
            onText: onText, cancellation: cancellation);
        return new SteeredGeneration(result, Steerer is null ? null : true, null, []);
    }

    /// <summary>
    /// The policy's decision for one question before its generation starts, for callers that bind
    /// <see cref="Steerer"/>'s tensors themselves (batched decoding): (null, null) without steering, (null, true)
    /// when always on, else the gate's score and verdict on the raw question. Not for <see cref="SteeringMode.PerToken"/>.
    /// </summary>
    public (double? Score, bool? Steer) Decide(string question)
    {
        if (Steerer is null) return (null, null);
        if (_gate is null) return (null, true);
        var decision = _gate.Decide(question);
        return (decision.Score, decision.Steer);
    }

    public void Dispose() => Steerer?.Dispose();
}
