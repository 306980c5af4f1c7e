using System.CommandLine;
using System.Globalization;
using AdaRas.Evaluation.Experiments;

namespace AdaRas.Cli.Commands;

/// <summary><c>adaras eval --config X</c> runs an experiment; <c>adaras eval merge &lt;folder&gt;</c> joins its shards.</summary>
static class EvalCommand
{
    public static Command Create(CliConsole console)
    {
        var experiment = new ExperimentOptions();
        var shard = new Option<string?>("--shard") { Description = "run only shard i of n (e.g. 2/4) into <results>/<name>/shard-i-of-n/" };
        var command = new Command("eval",
            "Run an experiment config (control, steered or adaptive) over its benchmark into <results>/<name>/; rerunning resumes");
        experiment.AddTo(command);
        command.Add(shard);
        command.Add(CreateMerge(console));
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var config = experiment.ReadConfig(parse);
            var options = experiment.ReadRunOptions(parse, console, parse.GetValue(shard) is { } s ? Shard.Parse(s) : null);
            var runner = new ExperimentRunner(parse.GetValue(experiment.Results)!);
            using var model = ExperimentOptions.LoadModel(config, console);
            using var source = new EngineAnswerSource(model, config);
            console.Error.WriteLine(Describe(config, source, model));
            var summary = runner.Run(config, source, options, cancellation);
            console.Out.WriteLine(ExperimentOptions.FormatSummary(summary, runner.FolderFor(config, options.Shard)));
            return 0;
        })));
        return command;
    }

    static Command CreateMerge(CliConsole console)
    {
        var folder = new Argument<string>("folder") { Description = "the run's results folder, holding shard-i-of-n/ folders" };
        var command = new Command("merge", "Merge a run's finished shards into one output.jsonl and summary.json (same as an unsharded run)") { folder };
        command.SetAction(parse => CommandRunner.Run(console, () =>
        {
            var path = Path.GetFullPath(parse.GetValue(folder)!);
            var summary = ResultsMerger.MergeShardsOf(path);
            console.Out.WriteLine(ExperimentOptions.FormatSummary(summary, path));
            return 0;
        }));
        return command;
    }

    static string Describe(ExperimentConfig config, EngineAnswerSource source, AdaRas.Engine.LanguageModel model)
    {
        var what = source.Steering is null ? "control (no steering)"
            : source.GateThreshold is { } t ? string.Create(CultureInfo.InvariantCulture, $"adaptive: {source.Steering}, gate threshold {t:G4}")
            : $"steered: {source.Steering}";
        return $"{config.Name}: {config.SamplePath} ({config.Task.ToString().ToLowerInvariant()}) on {model.Folder}; {what}";
    }
}
