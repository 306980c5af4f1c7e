using System.CommandLine;
using AdaRas.Probing.Gate;

namespace AdaRas.Cli.Commands;

/// <summary>The attention gate's training options, with <see cref="AttentionGateOptions"/>' defaults.</summary>
sealed class GateTrainingOptions
{
    static readonly AttentionGateOptions Defaults = new();
    readonly Option<int> _epochs = new("--epochs") { Description = "most epochs", DefaultValueFactory = _ => Defaults.MaxEpochs };
    readonly Option<int> _patience = new("--patience") { Description = "stop after this many epochs without a better validation AUROC", DefaultValueFactory = _ => Defaults.Patience };
    readonly Option<int> _seed = new("--seed") { Description = "initialisation, shuffling and dropout seed", DefaultValueFactory = _ => Defaults.Seed };
    readonly Option<int> _hidden = new("--hidden") { Description = "hidden layer size", DefaultValueFactory = _ => Defaults.HiddenSize };
    readonly Option<double> _dropout = new("--dropout") { DefaultValueFactory = _ => Defaults.Dropout };
    readonly Option<double> _learningRate = new("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => Defaults.LearningRate };
    readonly Option<double> _weightDecay = new("--weight-decay") { DefaultValueFactory = _ => Defaults.WeightDecay };
    readonly Option<int> _batch = new("--batch-size") { Description = "questions per optimiser step", DefaultValueFactory = _ => Defaults.BatchSize };
    readonly Option<string> _inputs = CreateInputs();

    static Option<string> CreateInputs()
    {
        var inputs = new Option<string>("--inputs")
        {
            Description = "standardized: each feature scaled by its training mean and std (default); raw: activations as they are (the paper's gate)",
            DefaultValueFactory = _ => "standardized",
        };
        inputs.AcceptOnlyFromAmong("standardized", "raw");
        return inputs;
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _epochs, _patience, _seed, _hidden, _dropout, _learningRate, _weightDecay, _batch, _inputs })
            command.Add(option);
    }

    public AttentionGateOptions Read(ParseResult parse)
    {
        var options = new AttentionGateOptions
        {
            MaxEpochs = parse.GetValue(_epochs), Patience = parse.GetValue(_patience), Seed = parse.GetValue(_seed),
            HiddenSize = parse.GetValue(_hidden), Dropout = parse.GetValue(_dropout), LearningRate = parse.GetValue(_learningRate),
            WeightDecay = parse.GetValue(_weightDecay), BatchSize = parse.GetValue(_batch),
            Standardize = parse.GetValue(_inputs) != "raw",
        };
        options.Validate();
        return options;
    }
}
