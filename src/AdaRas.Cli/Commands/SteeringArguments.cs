using System.CommandLine;
using AdaRas.Engine;
using AdaRas.Probing.Adaptive;
using AdaRas.Steering;
using AdaRas.Steering.Plans;

namespace AdaRas.Cli.Commands;

/// <summary>
/// The steering options of `adaras generate`: always-on steering with an RCN pattern
/// (--steer pattern.csv --neurons 50 --alpha 0.3 --method steering_add|linear_blend|softplus_add --positions last|all),
/// or adaptive steering when a gate is given (--gate gate.bin [--gate-threshold x]), optionally switched per token
/// by an L1 probe (--token-probe probe.bin --probe-every k).
/// </summary>
sealed class SteeringArguments
{
    readonly Option<string?> _pattern = new("--steer") { Description = "RCN pattern CSV to steer with (always, or as the gate decides)" };
    readonly Option<int> _neurons = new("--neurons") { Description = "steer the pattern's top K neurons", DefaultValueFactory = _ => 50 };
    readonly Option<float> _alpha = new("--alpha") { Description = "steering strength", DefaultValueFactory = _ => 0.3f };
    readonly Option<string> _method = new("--method") { Description = "steering_add, linear_blend or softplus_add", DefaultValueFactory = _ => "steering_add" };
    readonly Option<string> _positions = new("--positions") { Description = "last (each call's last position, the paper's) or all", DefaultValueFactory = _ => "last" };
    readonly Option<string?> _gate = new("--gate") { Description = "attention gate file: steer only when it predicts the answer will be wrong (needs --steer)" };
    readonly Option<double?> _gateThreshold = new("--gate-threshold") { Description = "override the gate's threshold on p(correct): steer when p < x" };
    readonly Option<string?> _tokenProbe = new("--token-probe") { Description = "L1 probe file re-evaluated during generation to switch steering on/off (needs --gate)" };
    readonly Option<int?> _probeEvery = new("--probe-every") { Description = $"generated tokens between --token-probe checks (default {AdaptiveSteering.DefaultProbeEvery})" };

    public SteeringArguments()
    {
        _method.AcceptOnlyFromAmong("steering_add", "linear_blend", "softplus_add");
        _positions.AcceptOnlyFromAmong("last", "all");
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _pattern, _neurons, _alpha, _method, _positions, _gate, _gateThreshold, _tokenProbe, _probeEvery })
            command.Add(option);
    }

    /// <summary>Builds the steerer (and gate) for <paramref name="model"/>; a session without --steer generates plainly.</summary>
    public SteeringSession Open(ParseResult parse, AdaRas.Engine.Model model, CliConsole console)
    {
        var pattern = parse.GetValue(_pattern);
        var gate = parse.GetValue(_gate);
        if (pattern is null)
        {
            if (gate is not null) throw new ArgumentException("--gate decides when to steer: give the pattern to steer with (--steer pattern.csv)");
            if (parse.GetValue(_tokenProbe) is not null) throw new ArgumentException("--token-probe needs --steer and --gate");
            return new SteeringSession(console, null, null);
        }
        if (gate is null && (parse.GetValue(_tokenProbe) is not null || parse.GetValue(_gateThreshold) is not null || parse.GetValue(_probeEvery) is not null))
            throw new ArgumentException("--gate-threshold, --token-probe and --probe-every need --gate");
        var options = new SteeringOptions(pattern)
        {
            Neurons = parse.GetValue(_neurons),
            Alpha = parse.GetValue(_alpha),
            Method = SteeringMethods.Parse(parse.GetValue(_method)!),
            Positions = parse.GetValue(_positions) == "all" ? SteeringPositions.All : SteeringPositions.Last,
        };
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
    public GenerationResult Generate(AdaRas.Engine.Model model, ChatRequest request, GeneratorParams parameters,
        Action<string>? onText, CancellationToken cancellation)
    {
        if (adaptive is not null)
        {
            return adaptive.Generate(request, parameters, onText: onText, cancellation: cancellation,
                onDecision: d => console.Error.WriteLine(
                    $"[gate: p(correct) = {d.Score:F4}, threshold {d.Threshold:F4} -> {(d.Steer ? "steer" : "do not steer")} ({steerer!.Options})]"),
                onProbeCheck: c => console.Error.WriteLine(
                    $"[token probe after {c.GeneratedTokens} tokens: p(correct) = {c.Score:F4} -> steering {(c.Steer ? "on" : "off")}]")).Generation;
        }
        if (steerer is not null) console.Error.WriteLine($"[steering: {steerer.Options}]");
        return TextGeneration.Generate(model, request, parameters,
            configure: steerer is null ? null : g => g.Steering = steerer.Tensors,
            onText: onText, cancellation: cancellation);
    }

    public void Dispose() => steerer?.Dispose();
}
