using System.CommandLine;
using AdaRas.Engine;

namespace AdaRas.Cli.Commands;

/// <summary>Generation options shared by generate, eval and demo.</summary>
sealed class SamplingOptions
{
    public Option<int> MaxNewTokens { get; } = new("--max-new-tokens") { Description = "most tokens to generate", DefaultValueFactory = _ => 256 };
    public Option<double> Temperature { get; } = new("--temperature") { Description = "0 is greedy", DefaultValueFactory = _ => 0.0 };
    public Option<int> TopK { get; } = new("--top-k") { Description = "keep the k most likely tokens (0: off)", DefaultValueFactory = _ => 0 };
    public Option<double> TopP { get; } = new("--top-p") { Description = "nucleus sampling mass in (0, 1]", DefaultValueFactory = _ => 1.0 };
    public Option<int> Seed { get; } = new("--seed") { Description = "sampling seed", DefaultValueFactory = _ => 0 };

    public void AddTo(Command command)
    {
        command.Add(MaxNewTokens); command.Add(Temperature); command.Add(TopK); command.Add(TopP); command.Add(Seed);
    }

    public GeneratorParams Read(ParseResult parse)
    {
        double temperature = parse.GetValue(Temperature);
        var p = new GeneratorParams
        {
            MaxNewTokens = parse.GetValue(MaxNewTokens),
            Temperature = temperature,
            DoSample = temperature > 0,
            TopK = parse.GetValue(TopK),
            TopP = parse.GetValue(TopP),
            Seed = parse.GetValue(Seed),
        };
        p.Validate();
        return p;
    }
}
