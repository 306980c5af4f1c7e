using System.CommandLine;
using AdaRas.Workflows;

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

    /// <summary>The settings given; a pattern applies to any prompt (the paper's transfer setting), only the model must match.</summary>
    public SteeringSettings Read(ParseResult parse)
    {
        var options = _steer.Read(parse);
        var gate = parse.GetValue(_gate);
        if (options is null)
        {
            if (gate is not null) throw new AdaRas.Files.UsageException("--gate decides when to steer: give the pattern to steer with (--steer pattern.csv)");
            if (parse.GetValue(_tokenProbe) is not null || parse.GetValue(_gateThreshold) is not null || parse.GetValue(_probeEvery) is not null)
                throw new AdaRas.Files.UsageException("--gate-threshold, --token-probe and --probe-every need --steer and --gate");
            return SteeringSettings.None;
        }
        if (gate is null && (parse.GetValue(_tokenProbe) is not null || parse.GetValue(_gateThreshold) is not null || parse.GetValue(_probeEvery) is not null))
            throw new AdaRas.Files.UsageException("--gate-threshold, --token-probe and --probe-every need --gate");
        return new SteeringSettings
        {
            Steering = options,
            GatePath = gate,
            GateThreshold = parse.GetValue(_gateThreshold),
            TokenProbePath = parse.GetValue(_tokenProbe),
            ProbeEvery = parse.GetValue(_probeEvery),
        };
    }
}
