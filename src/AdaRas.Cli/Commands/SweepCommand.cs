using System.CommandLine;
using System.Globalization;
using AdaRas.Evaluation.Experiments;
using AdaRas.Evaluation.Reports;

namespace AdaRas.Cli.Commands;

/// <summary><c>adaras sweep --config X --alphas 0.1,0.2,0.3 --neurons 10,50</c>: one run per (K, alpha), then a table and a plot.</summary>
static class SweepCommand
{
    public static Command Create(CliConsole console)
    {
        var experiment = new ExperimentOptions();
        var alphas = new Option<string>("--alphas") { Description = "steering strengths, comma-separated (e.g. 0.1,0.2,0.3)", Required = true };
        var neurons = new Option<string>("--neurons") { Description = "numbers of neurons K, comma-separated (e.g. 10,50)", Required = true };
        var command = new Command("sweep",
            "Run a config at every steering strength and neuron count (each point its own resumable results folder), then tabulate and plot accuracy against alpha per K");
        experiment.AddTo(command);
        command.Add(alphas);
        command.Add(neurons);
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var config = experiment.ReadConfig(parse);
            var grid = SteeringSweep.Grid(config,
                ParseList(parse.GetValue(alphas)!, "--alphas", s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture)),
                ParseList(parse.GetValue(neurons)!, "--neurons", s => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture)));
            var options = experiment.ReadRunOptions(parse, console);
            var runner = new ExperimentRunner(parse.GetValue(experiment.Results)!);
            using var model = experiment.LoadModel(parse, config, console);
            var report = SteeringSweep.Run(model, config, grid, runner, options,
                point => console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{point.Config.Name}: K = {point.Neurons}, alpha = {point.Alpha:G}")),
                cancellation);
            var folder = SteeringSweep.ReportFolder(runner, config);
            report.Write(folder);
            console.Out.Write(report.ToMarkdown());
            console.Error.WriteLine($"wrote {Path.Combine(folder, SweepReport.TableFile)} and {SweepReport.PlotFile}");
            return 0;
        })));
        return command;
    }

    static List<T> ParseList<T>(string text, string option, Func<string, T> parse) =>
        text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(item =>
        {
            try { return parse(item); }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                throw new AdaRas.Files.UsageException($"{option}: '{item}' is not a valid value (expected a comma-separated list, e.g. {(typeof(T) == typeof(int) ? "10,50" : "0.1,0.2,0.3")})");
            }
        }).ToList();
}
