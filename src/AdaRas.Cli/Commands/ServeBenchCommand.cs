using System.CommandLine;

namespace AdaRas.Cli.Commands;

static class ServeBenchCommand
{
    /// <summary><c>adaras serve bench</c>: latency through the server against in-process generation, side by side (batch 1).</summary>
    public static Command Create(CliConsole console)
    {
        var model = new ModelOption();
        var prompt = new Option<int>("--prompt") { Description = "prompt tokens", DefaultValueFactory = _ => 32 };
        var tokens = new Option<int>("--new-tokens") { Description = "generated tokens per run", DefaultValueFactory = _ => 16 };
        var repeats = new Option<int>("--repeats") { Description = "runs per path (medians)", DefaultValueFactory = _ => 5 };
        var command = new Command("bench", "Measure first-token and per-token latency through `adaras serve` (127.0.0.1) against in-process generation, and the per-request overhead")
        {
            prompt, tokens, repeats,
        };
        model.AddTo(command);
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            using var m = model.Load(parse, console, cancellation);
            var report = AdaRas.Serving.Bench.ServingLatency.MeasureAsync(m, parse.GetValue(prompt), parse.GetValue(tokens), parse.GetValue(repeats), cancellation)
                .GetAwaiter().GetResult();
            console.Out.WriteLine(report.ToMarkdown());
            return 0;
        })));
        return command;
    }
}
