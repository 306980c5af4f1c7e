using System.CommandLine;
using AdaRas.Engine;
using AdaRas.Steering;
using AdaRas.Steering.Plans;

namespace AdaRas.Cli.Commands;

/// <summary>
/// The steering options shared by generate (and later eval): a pattern, how many of its neurons, how strongly,
/// how, and (generate only) at which positions. Everything but --steer is an error without --steer.
/// </summary>
sealed class SteerOptions
{
    public Option<string?> Pattern { get; } = new("--steer") { Description = "RCN pattern CSV to steer with (ours or the paper's)" };
    public Option<int> Neurons { get; } = new("--neurons") { Description = "steer the pattern's first K neurons", DefaultValueFactory = _ => SteeringOptions.DefaultNeurons };
    public Option<float> Alpha { get; } = new("--alpha") { Description = "steering strength (the paper: 0.1 to 0.3)", DefaultValueFactory = _ => (float)SteeringOptions.DefaultAlpha };
    public Option<string> Method { get; } = new("--method") { Description = "steering_add, linear_blend or softplus_add", DefaultValueFactory = _ => SteeringOptions.DefaultMethod.ToName() };
    public Option<string> Positions { get; } = new("--positions") { Description = "last (each call's last position, the paper's) or all", DefaultValueFactory = _ => SteeringOptions.DefaultPositions.ToString().ToLowerInvariant() };

    readonly bool _withPositions;

    public SteerOptions(bool withPositions)
    {
        _withPositions = withPositions;
        Method.AcceptOnlyFromAmong("steering_add", "linear_blend", "softplus_add");
        Positions.AcceptOnlyFromAmong("last", "all");
    }

    IEnumerable<Option> Modifiers => _withPositions ? [Neurons, Alpha, Method, Positions] : [Neurons, Alpha, Method];

    public void AddTo(Command command)
    {
        command.Add(Pattern);
        foreach (var o in Modifiers) command.Add(o);
    }

    /// <summary>The options, or null when --steer is absent (then no other steering option may be given).</summary>
    public SteeringOptions? Read(ParseResult parse)
    {
        var pattern = parse.GetValue(Pattern);
        if (pattern is null)
        {
            var given = Modifiers.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false });
            if (given is not null) throw new AdaRas.Files.UsageException($"{given.Name} needs --steer <pattern.csv>");
            return null;
        }
        return new SteeringOptions(pattern)
        {
            Neurons = parse.GetValue(Neurons),
            Alpha = parse.GetValue(Alpha),
            Method = SteeringMethods.Parse(parse.GetValue(Method)!),
            Positions = parse.GetValue(Positions) == "all" ? SteeringPositions.All : SteeringPositions.Last,
        };
    }
}
