using System.CommandLine;
using AdaRas.Evaluation.Reports;

namespace AdaRas.Cli.Commands;

/// <summary><c>adaras report A B C</c>: runs side by side, paired flips and McNemar p against the first.</summary>
static class ReportCommand
{
    public static Command Create(CliConsole console)
    {
        var runs = new Argument<string[]>("runs") { Description = "results folders; the first is the baseline (e.g. control steered adaptive)", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out", "-o") { Description = "folder for report.md, accuracy.png and tokens.png", DefaultValueFactory = _ => "report" };
        var command = new Command("report", "Compare finished runs: accuracy, mean tokens and time, paired flips and exact McNemar p against the first run")
        {
            runs, output,
        };
        command.SetAction(parse => CommandRunner.Run(console, () =>
        {
            var loaded = parse.GetValue(runs)!.Select(folder => RunResults.Load(folder)).ToList();
            var report = ComparisonReport.Compare(loaded);
            var folder = Path.GetFullPath(parse.GetValue(output)!);
            report.Write(folder);
            console.Out.Write(report.ToMarkdown());
            console.Error.WriteLine($"wrote {Path.Combine(folder, "report.md")}, accuracy.png and tokens.png");
            return 0;
        }));
        return command;
    }
}
