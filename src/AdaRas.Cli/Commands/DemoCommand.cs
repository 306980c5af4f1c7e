using System.CommandLine;
using AdaRas.Evaluation.Demo;

namespace AdaRas.Cli.Commands;

static class DemoCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = "Hugging Face checkpoint with train/validation/test.jsonl beside it (default: the embedded demo model)",
            DefaultValueFactory = _ => ModelOption.DefaultModelFolder,
        };
        var quick = new Option<bool>("--quick") { Description = "a small, fast run of every stage (CI smoke test)" };
        var output = new Option<string?>("--out") { Description = "demo folder (default: results/demo, or results/demo-quick with --quick)" };
        var force = new Option<bool>("--force") { Description = "start over when the folder holds a demo made with other options" };
        var provider = ModelOption.CreateProvider();
        var batch = new Option<int>("--batch") { Description = "sequences decoded together (same results at any size)", DefaultValueFactory = _ => DemoOptions.Full.BatchSize };
        var command = new Command("demo", "The whole AdaRAS method on the embedded tiny reasoner: contrastive set, RCNs, gate, sweep, control/steered/adaptive")
        {
            model, quick, output, force, provider, batch,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            bool isQuick = parse.GetValue(quick);
            var folder = parse.GetValue(output) ?? Path.Combine("results", isQuick ? "demo-quick" : "demo");
            var status = new ThrottledProgress<string>(line => console.Error.Write($"\r{line,-110}"));
            var options = (isQuick ? DemoOptions.Quick : DemoOptions.Full) with { BatchSize = parse.GetValue(batch) };
            var result = DemoPipeline.Run(parse.GetValue(model)!, folder, options, parse.GetValue(force),
                log: line => console.Error.WriteLine($"\r{line,-110}"), status: status.Report, cancellation: cancellation,
                modelOptions: ModelOption.ReadProvider(parse, provider));
            console.Out.WriteLine(File.ReadAllText(result.ReportPath).TrimEnd());
            return 0;
        })));
        return command;
    }
}
