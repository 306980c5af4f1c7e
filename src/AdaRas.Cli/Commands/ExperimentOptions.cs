using System.CommandLine;
using System.Globalization;
using AdaRas.Evaluation.Experiments;

namespace AdaRas.Cli.Commands;

/// <summary>Options shared by eval and sweep: the config, a sample limit, the results root and a model override.</summary>
sealed class ExperimentOptions
{
    public Option<string> Config { get; } = new("--config", "-c") { Description = "experiment config (YAML or JSON)", Required = true };
    public Option<int?> Limit { get; } = new("--limit") { Description = "only the first N samples of the benchmark" };
    public Option<string> Results { get; } = new("--results") { Description = "results root; a run writes <results>/<name>/", DefaultValueFactory = _ => "results" };
    public Option<string?> Model { get; } = new("--model", "-m") { Description = "model folder or Hugging Face checkpoint, instead of the config's model" };
    public Option<string> Provider { get; } = ModelOption.CreateProvider();

    public Option<int> Batch { get; } = new("--batch") { Description = "questions decoded together, refilled as each finishes (same answers at any size; fewer when the KV cache would not fit in memory)", DefaultValueFactory = _ => 8 };

    public void AddTo(Command command)
    {
        command.Add(Config); command.Add(Limit); command.Add(Results); command.Add(Model); command.Add(Provider);
        command.Add(Batch);
    }

    /// <summary>The config, with <c>--model</c> (as a full path, so a resume from elsewhere matches) in place of its model.</summary>
    public ExperimentConfig ReadConfig(ParseResult parse)
    {
        var config = ExperimentConfig.Load(parse.GetValue(Config)!);
        return parse.GetValue(Model) is { } model ? config with { Model = Path.GetFullPath(model) } : config;
    }

    public ExperimentRunOptions ReadRunOptions(ParseResult parse, CliConsole console, Shard? shard = null) => new()
    {
        Limit = parse.GetValue(Limit) is { } n ? (n >= 1 ? n : throw new AdaRas.Files.UsageException($"--limit must be at least 1, not {n}")) : null,
        Shard = shard,
        BatchSize = parse.GetValue(Batch) is >= 1 and var b ? b : throw new AdaRas.Files.UsageException($"--batch must be at least 1, not {parse.GetValue(Batch)}"),
        Progress = p => console.Error.WriteLine(FormatProgress(p)),
    };

    /// <summary>Loads the config's model once (a checkpoint is exported into the cache first) on the --provider.</summary>
    public AdaRas.Engine.LanguageModel LoadModel(ParseResult parse, ExperimentConfig config, CliConsole console)
    {
        var path = config.TryResolvePath(config.Model)
            ?? throw new DirectoryNotFoundException($"{config.SourceFile ?? config.Name}: model '{config.Model}' not found (give --model or fix the config's model)");
        return ModelOption.Load(path, ModelOption.ReadProvider(parse, Provider), console);
    }

    public static string FormatProgress(ExperimentProgress p)
    {
        var c = CultureInfo.InvariantCulture;
        string eta = p.Eta is { } e ? $"ETA {(int)e.TotalHours}:{e:mm\\:ss}" : "ETA -";
        return string.Create(c,
            $"  {p.Done}/{p.Total}  accuracy {(p.Done == 0 ? 0 : 100.0 * p.Correct / p.Done):F1}% ({p.Correct}/{p.Done})  {p.SamplesPerSecond:F3} samples/s  {eta}  [{p.LastId}]");
    }

    public static string FormatSummary(ExperimentSummary s, string folder)
    {
        var steered = s.Steered is { } n ? $", steered {n}" : "";
        var baseTests = s.CorrectBase is { } b ? string.Create(CultureInfo.InvariantCulture, $" (base+plus), base {100 * (s.AccuracyBase ?? 0):F2}% ({b}/{s.Finished})") : "";
        var incomplete = (s.Unfinished is > 0 ? $", {s.Unfinished} unfinished" : "") + (s.Complete ? "" : " (incomplete)");
        return string.Create(CultureInfo.InvariantCulture,
            $"{s.Name}: {s.Finished}/{s.Planned} samples, accuracy {100 * s.Accuracy:F2}% ({s.Correct}/{s.Finished}){baseTests}, mean {s.MeanTokens:F1} tokens, {s.MeanSeconds:F2} s/sample{steered}{incomplete} -> {folder}");
    }
}
