using System.CommandLine;
using AdaRas.Engine;
using AdaRas.Workflows;
using AdaRas.Steering;

namespace AdaRas.Cli.Commands;

/// <summary>
/// The steering options of `adaras generate`: always-on steering with an RCN pattern
/// (--steer pattern.csv --neurons 50 --alpha 0.3 --method steering_add|linear_blend|softplus_add --positions last|all),
/// or adaptive steering when a gate is given (--gate gate.bin [--gate-threshold x]), optionally switched per token
/// by an L1 probe (--token-probe probe.bin --probe-every k).
/// </summary>
sealed class SteeringArguments
{
    readonly SteerOptions _steer = new(withPositions: true);
    readonly Option<string?> _gate = new("--gate") { Description = "attention gate file: steer only when it predicts the answer will be wrong (needs --steer)" };
    readonly Option<double?> _gateThreshold = new("--gate-threshold") { Description = "override the gate's threshold on p(correct): steer when p < x" };
    readonly Option<string?> _tokenProbe = new("--token-probe") { Description = "L1 probe file re-evaluated during generation to switch steering on/off (needs --gate)" };
    readonly Option<int?> _probeEvery = new("--probe-every") { Description = $"generated tokens between --token-probe checks (default {AdaptiveSteering.DefaultProbeEvery})" };

    public void AddTo(Command command)
    {
        _steer.AddTo(command);
        foreach (var option in new Option[] { _gate, _gateThreshold, _tokenProbe, _probeEvery })
            command.Add(option);
    }

    /// <summary>Builds the steerer (and gate) for <paramref name="model"/>; a session without --steer generates plainly.</summary>
    public SteeringSession Open(ParseResult parse, AdaRas.Engine.LanguageModel model, CliConsole console)
    {
        // A pattern applies to any prompt (the paper's transfer setting); only the model must match.
        var options = _steer.Read(parse);
        var gate = parse.GetValue(_gate);
        if (options is null)
        {
            if (gate is not null) throw new ArgumentException("--gate decides when to steer: give the pattern to steer with (--steer pattern.csv)");
            if (parse.GetValue(_tokenProbe) is not null) throw new ArgumentException("--token-probe needs --steer and --gate");
            return new SteeringSession(console, null, null);
        }
        if (gate is null && (parse.GetValue(_tokenProbe) is not null || parse.GetValue(_gateThreshold) is not null || parse.GetValue(_probeEvery) is not null))
            throw new ArgumentException("--gate-threshold, --token-probe and --probe-every need --gate");
        var steerer = Steerer.Create(model, options);
        try
        {
            var adaptive = gate is null ? null : AdaptiveSteering.Create(model, steerer, gate,
                parse.GetValue(_gateThreshold), parse.GetValue(_tokenProbe), parse.GetValue(_probeEvery));
            return new SteeringSession(console, steerer, adaptive);
        }
        catch
        {
            steerer.Dispose();
            throw;
        }
    }
}

/// <summary>What `generate` steers with: nothing, a steerer always, or a steerer as the gate decides.</summary>
sealed class SteeringSession(CliConsole console, Steerer? steerer, AdaptiveSteering? adaptive) : IDisposable
{
    public GenerationResult Generate(AdaRas.Engine.LanguageModel model, ChatRequest request, GeneratorParams parameters,
        Action<string>? onText, CancellationToken cancellation)
    {
        if (adaptive is not null)
        {
            return adaptive.Generate(request, parameters, onText: onText, cancellation: cancellation,
                onDecision: d => console.Error.WriteLine(
                    $"[gate: p(correct) = {d.Score:F4}, threshold {d.Threshold:F4} -> {(d.Steer ? "steer" : "do not steer")} ({steerer!.Describe()})]"),
                onProbeCheck: c => console.Error.WriteLine(
                    $"[token probe after {c.GeneratedTokens} tokens: p(correct) = {c.Score:F4} -> steering {(c.Steer ? "on" : "off")}]")).Generation;
        }
        if (steerer is not null) console.Error.WriteLine($"[steering: {steerer.Describe()}]");
        return TextGeneration.Generate(model, request, parameters,
            configure: steerer is null ? null : g => g.Steering = steerer.Tensors,
            onText: onText, cancellation: cancellation);
    }

    public void Dispose() => steerer?.Dispose();
}
